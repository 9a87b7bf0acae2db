#include "learner/communicator.h"

#include <mpi.h>

#ifdef MEM1_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

#include <cstdlib>

namespace mem1 {
namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void AllReduceSum(torch::Tensor&) override {}
  std::vector<std::string> AllGatherBytes(const std::string& mine) override { return {mine}; }
  CommBackend backend() const override { return CommBackend::kLocal; }
};

std::vector<std::string> MpiAllGatherBytes(const std::string& mine, int world) {
  const long long n = static_cast<long long>(mine.size());
  std::vector<long long> sizes(world);
  MPI_Allgather(&n, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD);
  std::vector<int> counts(world), displs(world);
  long long total = 0;
  for (int r = 0; r < world; ++r) {
    CHECK_LT(sizes[r], 1ll << 31) << "all-gather payload above 2 GiB";
    counts[r] = static_cast<int>(sizes[r]);
    displs[r] = static_cast<int>(total);
    total += sizes[r];
  }
  CHECK_LT(total, 1ll << 31) << "all-gather total above 2 GiB";
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), static_cast<int>(n), MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE,
                 MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < world; ++r) out.push_back(all.substr(displs[r], counts[r]));
  return out;
}

void EnsureMpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    MPI_Init(nullptr, nullptr);
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    EnsureMpi();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
  }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  void AllReduceSum(torch::Tensor& buffer) override {
    CHECK(buffer.is_contiguous() && buffer.device().is_cpu()) << "MPI all-reduce needs a contiguous CPU buffer";
    CHECK(buffer.scalar_type() == torch::kFloat32 || buffer.scalar_type() == torch::kFloat64);
    if (world_ == 1) return;
    const MPI_Datatype type = buffer.scalar_type() == torch::kFloat32 ? MPI_FLOAT : MPI_DOUBLE;
    // Large buffers in chunks: MPI counts are int.
    const int64_t n = buffer.numel();
    const int64_t chunk = int64_t{1} << 28;
    char* base = static_cast<char*>(buffer.data_ptr());
    for (int64_t off = 0; off < n; off += chunk) {
      const int count = static_cast<int>(std::min(chunk, n - off));
      MPI_Allreduce(MPI_IN_PLACE, base + off * buffer.element_size(), count, type, MPI_SUM, MPI_COMM_WORLD);
    }
  }
  std::vector<std::string> AllGatherBytes(const std::string& mine) override {
    if (world_ == 1) return {mine};
    return MpiAllGatherBytes(mine, world_);
  }
  CommBackend backend() const override { return CommBackend::kMpi; }

 private:
  int rank_ = 0, world_ = 1;
};

#ifdef MEM1_HAVE_NCCL
class NcclCommunicator : public Communicator {
 public:
  Status Init() {
    EnsureMpi();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) return Unavailable("NCCL backend: no CUDA device");
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    int local_rank = 0;
    MPI_Comm_rank(local, &local_rank);
    MPI_Comm_free(&local);
    device_ = local_rank % devices;
    cudaSetDevice(device_);
    ncclUniqueId id;
    if (rank_ == 0) ncclGetUniqueId(&id);
    MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
    if (ncclCommInitRank(&comm_, world_, id, rank_) != ncclSuccess) return Internal("ncclCommInitRank failed");
    cudaStreamCreate(&stream_);
    return Status::Ok();
  }
  ~NcclCommunicator() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  void AllReduceSum(torch::Tensor& buffer) override {
    CHECK(buffer.is_contiguous() && buffer.device().is_cuda()) << "NCCL all-reduce needs a contiguous CUDA buffer";
    const ncclDataType_t type = buffer.scalar_type() == torch::kFloat32 ? ncclFloat32 : ncclFloat64;
    CHECK_EQ(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), buffer.numel(), type, ncclSum, comm_, stream_),
             ncclSuccess);
    cudaStreamSynchronize(stream_);
  }
  std::vector<std::string> AllGatherBytes(const std::string& mine) override { return MpiAllGatherBytes(mine, world_); }
  CommBackend backend() const override { return CommBackend::kNccl; }

 private:
  int rank_ = 0, world_ = 1, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};
#endif

}  // namespace

std::unique_ptr<Communicator> MakeLocalCommunicator() { return std::make_unique<LocalCommunicator>(); }

Result<std::unique_ptr<Communicator>> MakeMpiCommunicator() {
  return std::unique_ptr<Communicator>(std::make_unique<MpiCommunicator>());
}

bool HaveNccl() {
#ifdef MEM1_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

Result<std::unique_ptr<Communicator>> MakeNcclCommunicator() {
#ifdef MEM1_HAVE_NCCL
  auto c = std::make_unique<NcclCommunicator>();
  MEM1_RETURN_IF_ERROR(c->Init());
  return std::unique_ptr<Communicator>(std::move(c));
#else
  return Unimplemented("this build has no NCCL backend (CMake did not find nccl.h / libnccl)");
#endif
}

Status AgreeOnStatus(Communicator* comm, const Status& mine) {
  std::string bytes;
  if (!mine.ok()) bytes = std::to_string(static_cast<int>(mine.code())) + ":" + mine.message();
  const auto all = comm->AllGatherBytes(bytes);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    const size_t colon = all[r].find(':');
    const int code = std::atoi(all[r].substr(0, colon).c_str());
    return Status(static_cast<StatusCode>(code), "rank " + std::to_string(r) + ": " + all[r].substr(colon + 1));
  }
  return Status::Ok();
}

}  // namespace mem1
