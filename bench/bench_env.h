// Environment header every benchmark prints first: build type, threads, BLAS, commit.
#ifndef MEM1_BENCH_BENCH_ENV_H_
#define MEM1_BENCH_BENCH_ENV_H_

namespace mem1 {
void PrintBenchEnvironment(int threads);
}  // namespace mem1

#endif  // MEM1_BENCH_BENCH_ENV_H_
