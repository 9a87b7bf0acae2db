// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of weight
// chunks, the trajectory journal and TensorBoard's TFRecord framing.
// Thread safety: pure functions (the table is built once, thread-safely).
#ifndef MEM1_COMMON_UTIL_CRC32C_H_
#define MEM1_COMMON_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace mem1 {

// CRC-32C of `n` bytes, extending `crc` (the CRC of the bytes before; 0 to start).
// Crc32c("123456789", 9) == 0xE3069283.
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

// TFRecord / LevelDB masking of a stored CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace mem1

#endif  // MEM1_COMMON_UTIL_CRC32C_H_
