// tg::distributed on MPI. Collectives are non-blocking MPI calls polled against
// a deadline, so a stuck peer ends the job with a message instead of a hang.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/data/batches.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/distributed/distributed.hpp>

namespace tg::distributed {
namespace {

double timeout = [] {
  const char* env = std::getenv("TAPEGRAD_MPI_TIMEOUT");
  return env && std::atof(env) > 0 ? std::atof(env) : 300.0;
}();

bool initialized() {
  int flag = 0;
  MPI_Initialized(&flag);
  int finalized = 0;
  MPI_Finalized(&finalized);
  return flag && !finalized;
}

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  abort(std::string(what) + " failed: " + std::string(text, len));
}

// Waits for a non-blocking collective, aborting the job after the timeout.
void wait(MPI_Request& request, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  for (int spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (std::chrono::steady_clock::now() > deadline)
      abort(std::string(what) + " did not complete within " + std::to_string(timeout) +
            " s: another rank has stopped or is stuck (set TAPEGRAD_MPI_TIMEOUT to wait longer)");
    if (spins > 1000) std::this_thread::yield();
  }
}

MPI_Datatype mpi_type(Dtype d) {
  switch (d) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    default: return MPI_INT64_T;
  }
}

void require_mpi(const char* what) {
  if (!initialized())
    throw std::logic_error(std::string("tg::distributed::") + what +
                           ": MPI is not initialised (create a tg::distributed::Environment first)");
}

AllReduceStats stats;

}  // namespace

AllReduceStats all_reduce_stats() { return stats; }
void reset_all_reduce_stats() { stats = AllReduceStats{}; }

Environment::Environment(int& argc, char**& argv) {
  if (initialized()) return;  // someone else owns MPI: leave init and finalize to them
  owns_ = true;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  // Errors come back as codes, so we can say what failed before aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

Environment::~Environment() {
  if (owns_ && initialized()) MPI_Finalize();
}

int rank() {
  if (!initialized()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  if (!initialized()) return 1;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

double timeout_seconds() { return timeout; }
void set_timeout_seconds(double seconds) {
  if (!(seconds > 0))
    throw std::invalid_argument("tg::distributed::set_timeout_seconds: the timeout must be positive, got " +
                                std::to_string(seconds));
  timeout = seconds;
}

void abort(const std::string& message, int code) {
  std::fprintf(stderr, "tapegrad rank %d: %s\n", rank(), message.c_str());
  std::fflush(stderr);
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void broadcast_parameters(const std::vector<Tensor>& params, int root) {
  require_mpi("broadcast_parameters");
  for (const Tensor& p : params) {
    Tensor t = p;  // a handle: writes go to the parameter's own storage
    MPI_Request request;
    check(MPI_Ibcast(t.raw_data(), static_cast<int>(t.numel()), mpi_type(t.dtype()), root, MPI_COMM_WORLD,
                     &request),
          "broadcast_parameters");
    wait(request, "broadcast_parameters");
    t.bump_version();
  }
}

void all_reduce_gradients(const std::vector<Tensor>& params, AllReduce mode) {
  require_mpi("all_reduce_gradients");
  const auto start = std::chrono::steady_clock::now();
  struct Account {  // books the call on every return path
    std::chrono::steady_clock::time_point start;
    std::int64_t bytes = 0;
    ~Account() {
      stats.calls++;
      stats.bytes += bytes;
      stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  } account{start};
  const int world = world_size();
  NoGradGuard no_grad;
  // Every rank must reduce the same tensors: a missing gradient becomes zeros.
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) {
      g = zeros(p.shape(), p.dtype());
      Tensor(p).set_grad(g);
    }
    grads.push_back(g);
    account.bytes += static_cast<std::int64_t>(g.numel() * element_size(g.dtype()));
  }
  const bool same_dtype =
      std::all_of(grads.begin(), grads.end(), [&](const Tensor& g) { return g.dtype() == grads.front().dtype(); });
  if (mode == AllReduce::PerTensor || !same_dtype) {
    for (Tensor& g : grads) {
      MPI_Request request;
      check(MPI_Iallreduce(MPI_IN_PLACE, g.raw_data(), static_cast<int>(g.numel()), mpi_type(g.dtype()), MPI_SUM,
                           MPI_COMM_WORLD, &request),
            "all_reduce_gradients");
      wait(request, "all_reduce_gradients");
      g.copy_(g / static_cast<double>(world));
    }
    return;
  }
  // Fused: pack every gradient into one buffer, one all-reduce, unpack averaged.
  const Dtype dtype = grads.front().dtype();
  const std::size_t esize = element_size(dtype);
  std::int64_t total = 0;
  for (const Tensor& g : grads) total += g.numel();
  Tensor buffer = empty({total}, dtype);
  char* base = static_cast<char*>(buffer.raw_data());
  std::int64_t offset = 0;
  for (const Tensor& g : grads) {
    std::memcpy(base + offset * esize, g.raw_data(), g.numel() * esize);
    offset += g.numel();
  }
  MPI_Request request;
  check(MPI_Iallreduce(MPI_IN_PLACE, base, static_cast<int>(total), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD,
                       &request),
        "all_reduce_gradients");
  wait(request, "all_reduce_gradients");
  buffer = buffer / static_cast<double>(world);
  base = static_cast<char*>(buffer.raw_data());
  offset = 0;
  for (Tensor& g : grads) {
    std::memcpy(g.raw_data(), base + offset * esize, g.numel() * esize);
    g.bump_version();
    offset += g.numel();
  }
}

double all_reduce_sum(double value) {
  require_mpi("all_reduce_sum");
  double out = 0;
  MPI_Request request;
  check(MPI_Iallreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &request), "all_reduce_sum");
  wait(request, "all_reduce_sum");
  return out;
}

void barrier() {
  require_mpi("barrier");
  MPI_Request request;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier");
  wait(request, "barrier");
}

DistributedSampler::DistributedSampler(std::int64_t dataset_size, int rank, int world_size, std::uint64_t seed,
                                       bool shuffle, bool drop_last)
    : size_(dataset_size), rank_(rank), world_(world_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("DistributedSampler: rank " + std::to_string(rank) + " is outside a world of " +
                                std::to_string(world_size));
  if (dataset_size < 0) throw std::invalid_argument("DistributedSampler: negative dataset size");
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t epoch) const {
  const std::vector<std::int64_t> all = data::epoch_order(size_, shuffle_, seed_, epoch);
  const std::int64_t used = drop_last_ ? size_ / world_ * world_ : size_;
  std::vector<std::int64_t> mine;
  for (std::int64_t i = rank_; i < used; i += world_) mine.push_back(all[i]);
  return mine;
}

}  // namespace tg::distributed
