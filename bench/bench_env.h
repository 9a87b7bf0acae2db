// Environment header every benchmark prints first: build type, threads, BLAS, commit.
#ifndef MEM1_BENCH_BENCH_ENV_H_
#define MEM1_BENCH_BENCH_ENV_H_

#include <cstdint>
#include <string>

namespace mem1 {
void PrintBenchEnvironment(int threads);
// Resident set (VmRSS) and its peak (VmHWM) of this process in MiB, from /proc/self/status
// (-1 when unreadable).
double RssMiB();
double PeakRssMiB();
// Resets the peak (VmHWM) to the current RSS (writes 5 to /proc/self/clear_refs); false if
// the kernel refuses.
bool ResetPeakRss();
// Best-of-5 GFLOP/s of a square fp32 torch::mm of size n (after one warm-up): the baseline
// achieved FLOP/s are given as a fraction of.
double MeasureMmGflops(int64_t n);
// Bytes of the regular files under `path` (recursive).
int64_t DiskBytes(const std::string& path);
// The Python interpreter that imports torch and numpy (the plain-PyTorch peers in bench/):
// `requested`, or else python3 on PATH, then /usr/bin/python3 (where Debian's python3-torch
// installs); empty when none does.
std::string FindTorchPython(const std::string& requested);
// The one-line reason a peer is skipped when FindTorchPython(requested) found none.
std::string NoTorchPythonReason(const std::string& requested);
// Runs `command` (stderr merged), sets `last_line` to its last non-empty output line and
// returns pclose's status (0 = success, -1 = could not start).
int RunForLastLine(const std::string& command, std::string* last_line);
}  // namespace mem1

#endif  // MEM1_BENCH_BENCH_ENV_H_
