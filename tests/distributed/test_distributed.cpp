// Run under mpirun -np 2: data-parallel SGD equals single-process SGD on the
// concatenated batch, and every rank ends with identical parameters.
// (A plain program rather than Catch2: every rank must run every check in the
// same order, so collectives line up.)
#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace dist = tg::distributed;

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::fprintf(stderr, "rank %d: FAILED: %s\n", dist::rank(), what.c_str());
  }
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  auto va = a.to_vector(), vb = b.to_vector();
  for (std::size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

std::vector<Tensor> clone_all(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const Tensor& p : ps) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// One SGD step of a 4-3-1 MLP with squared error on (x, y).
void sgd_step(const std::vector<Tensor>& p, const Tensor& x, const Tensor& y, bool distributed,
              dist::AllReduce mode = dist::AllReduce::Fused) {
  Tensor pred = matmul(relu(matmul(x, p[0]) + p[1]), p[2]);
  Tensor loss = mean(pow(pred - y, 2.0));
  loss.backward();
  if (distributed) dist::all_reduce_gradients(p, mode);
  NoGradGuard no_grad;
  for (Tensor q : p) {
    q.copy_(q - q.grad() * 0.1);
    q.zero_grad();
  }
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment mpi(argc, argv);
  const int rank = dist::rank(), world = dist::world_size();
  expect(world == 2, "the test runs on 2 ranks (got " + std::to_string(world) + ")");

  // Different initial weights on each rank, then rank 0's are broadcast.
  manual_seed(100 + rank);
  std::vector<Tensor> params = {randn({4, 3}, kFloat64).requires_grad_(), randn({3}, kFloat64).requires_grad_(),
                                randn({3, 1}, kFloat64).requires_grad_()};
  dist::broadcast_parameters(params);
  manual_seed(7);  // the same global batch everywhere
  Tensor x = randn({8, 4}, kFloat64), y = randn({8, 1}, kFloat64);
  std::vector<Tensor> reference = clone_all(params);
  std::vector<Tensor> per_tensor = clone_all(params);

  const std::int64_t shard = 8 / world;
  Tensor xs = narrow(x, rank * shard, shard), ys = narrow(y, rank * shard, shard);
  sgd_step(params, xs, ys, true);
  sgd_step(per_tensor, xs, ys, true, dist::AllReduce::PerTensor);
  sgd_step(reference, x, y, false);  // one process, whole batch

  for (std::size_t i = 0; i < params.size(); ++i) {
    const double d = max_abs_diff(params[i], reference[i]);
    expect(d < 1e-6, "parameter " + std::to_string(i) + " equals the single-process step (diff " +
                         std::to_string(d) + ")");
    expect(max_abs_diff(params[i], per_tensor[i]) < 1e-12, "fused and per-tensor all-reduce agree");
    // Identical on both ranks: compare with rank 0's copy.
    Tensor mine = params[i].detach().clone();
    Tensor root = params[i].detach().clone();
    dist::broadcast_parameters({root});
    expect(max_abs_diff(mine, root) == 0.0, "parameter " + std::to_string(i) + " is identical on every rank");
  }

  // The sampler splits each epoch without overlap and covers everything.
  std::set<std::int64_t> seen;
  std::size_t count = 0;
  for (int r = 0; r < world; ++r) {
    auto idx = dist::DistributedSampler(10, r, world, 3).indices(1);
    count += idx.size();
    seen.insert(idx.begin(), idx.end());
  }
  expect(count == 10 && seen.size() == 10, "sampler shards are disjoint and cover the dataset");
  expect(dist::DistributedSampler(10, 0, 2, 3).indices(1) != dist::DistributedSampler(10, 0, 2, 3).indices(2),
         "sampler reshuffles each epoch");
  expect(dist::DistributedSampler(11, 1, 2, 3, true, true).indices(0).size() == 5, "drop_last trims the tail");
  expect(dist::all_reduce_sum(1.0) == world, "all_reduce_sum adds over ranks");

  const double total_failed = dist::all_reduce_sum(failed);
  if (rank == 0) std::printf("distributed: %d passed, %d failed\n", passed, static_cast<int>(total_failed));
  return total_failed == 0 ? 0 : 1;
}
