// CPython's `random` module generator, for reproducing what reference Python code draws with
// a fixed seed (WebShop shuffles its goals with random.seed(233); random.shuffle(goals)).
// The Mersenne Twister MT19937 seeded as random.seed(int) seeds it (init_by_array over the
// seed's 32-bit words, least significant first), with getrandbits, _randbelow (rejection on
// n.bit_length() bits) and shuffle in CPython 3's order. Written from the algorithms'
// published descriptions; tests compare it with values printed by CPython 3.11.
//
// Thread safety: one generator per thread.
#ifndef MEM1_COMMON_UTIL_PY_RANDOM_H_
#define MEM1_COMMON_UTIL_PY_RANDOM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mem1 {

class PyRandom {
 public:
  // random.seed(seed) for a non-negative int seed.
  explicit PyRandom(uint64_t seed);
  // One 32-bit output of the generator (genrand_uint32).
  uint32_t NextU32();
  // random.getrandbits(k), 1 <= k <= 64.
  uint64_t GetRandBits(int k);
  // random._randbelow(n) for n >= 1: uniform in [0, n).
  uint64_t RandBelow(uint64_t n);
  // random.shuffle(x).
  template <typename T>
  void Shuffle(std::vector<T>* x) {
    for (size_t i = x->size(); i-- > 1;) {
      const size_t j = static_cast<size_t>(RandBelow(i + 1));
      std::swap((*x)[i], (*x)[j]);
    }
  }

 private:
  static constexpr int kN = 624;
  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

}  // namespace mem1

#endif  // MEM1_COMMON_UTIL_PY_RANDOM_H_
