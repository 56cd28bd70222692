// tapegrad — data-parallel training over MPI (optional component).
//
// Link tapegrad::distributed (built when CMake finds MPI; TAPEGRAD_WITH_MPI).
// The core library never depends on it.
//
// <!-- snippet: file --> compiled, not run: it needs MPI ranks (mpirun -n 2 ./program)
// @code
//   int train_main(int argc, char** argv) {              // the program's main
//     tg::distributed::Environment mpi(argc, argv);      // MPI_Init ... MPI_Finalize
//     tg::manual_seed(tg::distributed::rank());          // each rank its own data
//     tg::Tensor x = tg::randn({32, 4}), y = tg::argmax(x, 1);   // this rank's shard
//     auto model = std::make_shared<tg::nn::Linear>(4, 4);
//     tg::optim::SGD optimizer(model->parameters(), tg::optim::SGDOptions(0.1));
//     auto params = model->parameters();
//     tg::distributed::broadcast_parameters(params);      // same start on every rank
//     for (int step = 0; step < 10; ++step) {
//       optimizer.zero_grad();
//       tg::nn::functional::cross_entropy((*model)(x), y).backward();
//       tg::distributed::all_reduce_gradients(params);    // average over ranks
//       optimizer.step();
//     }
//     return 0;
//   }
// @endcode
//
// Failure behaviour: collectives wait at most `timeout_seconds()` (default 300,
// env TAPEGRAD_MPI_TIMEOUT); a rank that throws, times out, or sees a peer die
// calls MPI_Abort with a message, so the whole job stops instead of hanging.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

/// @namespace tg::distributed
/// Data-parallel training over MPI: environment, collectives on parameters and
/// gradients, and a sampler that shards each epoch across ranks.
namespace tg::distributed {

/// RAII for MPI: initialises MPI (thread level FUNNELED) and finalises it.
class Environment {
 public:
  /// Calls MPI_Init_thread with main's arguments (which MPI may edit); does
  /// nothing when MPI is already initialised.
  Environment(int& argc, char**& argv);
  /// Calls MPI_Finalize while MPI is initialised.
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool owns_ = false;  // false when MPI was already initialised by someone else
};

/// This process's rank and the number of ranks (0 and 1 before MPI is initialised).
///@{
int rank();
int world_size();
///@}

/// Seconds a collective may take before the job is aborted (read and set;
/// the initial value comes from TAPEGRAD_MPI_TIMEOUT, else 300). Setting a
/// value that is not positive throws std::invalid_argument.
///@{
double timeout_seconds();
void set_timeout_seconds(double seconds);
///@}

// The collectives (broadcast_parameters, all_reduce_gradients, all_reduce_sum,
// barrier) must be called by every rank in the same order; they throw
// std::logic_error when MPI is not initialised (no Environment).

/// Copies root's values of every tensor into the same tensors on all ranks.
void broadcast_parameters(const std::vector<Tensor>& params, int root = 0);

/// How all_reduce_gradients talks to MPI.
enum class AllReduce {
  Fused,     ///< one buffer holding every gradient, one MPI call per step (PerTensor if dtypes differ)
  PerTensor  ///< one MPI call per parameter (for comparison)
};

/// Replaces each parameter's .grad() by its average over all ranks. A parameter
/// without a gradient on this rank contributes zeros.
void all_reduce_gradients(const std::vector<Tensor>& params, AllReduce mode = AllReduce::Fused);

/// What all_reduce_gradients cost this rank since the start (or the last reset).
struct AllReduceStats {
  std::int64_t calls = 0;  ///< all_reduce_gradients calls
  std::int64_t bytes = 0;  ///< gradient bytes sent per call, summed over calls
  double seconds = 0;      ///< wall time in the calls, including waiting for the slowest rank
};
/// This rank's all-reduce totals so far.
AllReduceStats all_reduce_stats();
/// Sets the totals of all_reduce_stats() back to zero.
void reset_all_reduce_stats();

/// Sum of a value over all ranks (for metrics such as correct-prediction counts).
double all_reduce_sum(double value);

/// Blocks until every rank arrives.
void barrier();

/// Stops every rank with `message` printed by this rank (MPI_Abort).
[[noreturn]] void abort(const std::string& message, int code = 1);

/// Splits each epoch's shuffled indices across ranks without overlap: every
/// rank computes the same data::epoch_order(dataset_size, shuffle, seed, epoch)
/// — the order a BatchLoader or DataLoader with this seed gives that epoch —
/// then takes a strided share.
/// With drop_last the total is cut to a multiple of the world size; without it,
/// the first ranks get one index more than the others.
class DistributedSampler {
 public:
  /// Throws std::invalid_argument unless 0 <= rank < world_size and dataset_size >= 0.
  DistributedSampler(std::int64_t dataset_size, int rank, int world_size, std::uint64_t seed = 0,
                     bool shuffle = true, bool drop_last = false);
  /// This rank's indices for `epoch`.
  std::vector<std::int64_t> indices(std::int64_t epoch) const;

 private:
  std::int64_t size_;
  int rank_, world_;
  std::uint64_t seed_;
  bool shuffle_, drop_last_;
};

}  // namespace tg::distributed
