// Tensor handle, factories, dtypes, printing.
#include <catch2/catch.hpp>
#include <algorithm>
#include <numeric>
#include <sstream>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

TEST_CASE("factories produce the requested shape, dtype and values", "[tensor]") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dim() == 2);
  CHECK(z.numel() == 6);
  CHECK(z.dtype() == kFloat32);
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  CHECK(ones({4}, kFloat64).to_vector() == std::vector<double>(4, 1.0));
  CHECK(full({2, 2}, 2.5).to_vector() == std::vector<double>(4, 2.5));
  CHECK(arange(5).to_vector() == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(arange(1.0, 2.0, 0.25, kFloat64).to_vector() == std::vector<double>{1, 1.25, 1.5, 1.75});
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(t.dtype() == kFloat64);
  CHECK(t.data<double>()[4] == 5.0);
  CHECK(t.size(-1) == 3);
  CHECK(scalar_tensor(3.5).item() == 3.5);
  CHECK(scalar_tensor(3.5).dim() == 0);
  Tensor labels = tensor_i64({3, 1, 4}, {3});
  CHECK(labels.dtype() == kInt64);
  CHECK(labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1, 4});
}

TEST_CASE("a tensor is a shared handle; clone copies, detach shares", "[tensor]") {
  Tensor a = tensor({1, 2, 3});
  Tensor b = a;
  b.data<float>()[0] = 10;
  CHECK(a.data<float>()[0] == 10);
  Tensor c = a.clone();
  c.data<float>()[1] = 20;
  CHECK(a.data<float>()[1] == 2);
  Tensor d = a.detach();
  d.data<float>()[2] = 30;
  CHECK(a.data<float>()[2] == 30);
}

TEST_CASE("to() converts between dtypes", "[tensor]") {
  Tensor a = tensor({1.5, -2.25}, kFloat32);
  Tensor b = a.to(kFloat64);
  CHECK(b.dtype() == kFloat64);
  CHECK(b.to_vector() == std::vector<double>{1.5, -2.25});
  CHECK(a.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2});
  CHECK(a.to(kFloat32).is_same(a));
}

TEST_CASE("storage is 64-byte aligned", "[tensor]") {
  for (int n : {1, 3, 17, 1000}) {
    Tensor t = empty({n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
  }
}

TEST_CASE("manual_seed makes randn reproducible", "[tensor]") {
  manual_seed(42);
  auto a = randn({100}).to_vector();
  manual_seed(42);
  auto b = randn({100}).to_vector();
  CHECK(a == b);
  manual_seed(43);
  CHECK(randn({100}).to_vector() != a);
  // The sample moments of 100k draws are close to N(0,1): |mean| < 5 sigma/sqrt(n).
  manual_seed(1);
  Tensor big = randn({100000}, kFloat64);
  CHECK(std::abs(mean(big).item()) < 5.0 / std::sqrt(100000.0));
  CHECK(std::abs(mean(big * big).item() - 1.0) < 0.02);
  Tensor u = rand({100000}, kFloat64);
  CHECK(max(u).item() < 1.0);
  CHECK(std::abs(mean(u).item() - 0.5) < 0.01);
}

TEST_CASE("randperm(n, seed, stream) is one fixed permutation per (n, seed, stream)", "[tensor]") {
  // The documented algorithm (Fisher-Yates over mt19937_64 seeded with
  // SplitMix64(SplitMix64(seed) + stream)), recomputed independently: the same
  // values with every standard library.
  CHECK(randperm(10, 42) == std::vector<std::int64_t>{2, 0, 4, 7, 8, 3, 5, 1, 9, 6});
  CHECK(randperm(10, 42, 1) == std::vector<std::int64_t>{5, 2, 0, 1, 8, 7, 9, 6, 4, 3});
  std::vector<std::int64_t> p = randperm(1000, 7, 3);
  std::sort(p.begin(), p.end());
  std::vector<std::int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), std::int64_t{0});
  CHECK(p == identity);
  CHECK(randperm(1000, 7, 3) != randperm(1000, 7, 4));
  CHECK(randperm(1000, 7, 3) != randperm(1000, 8, 3));
  CHECK(randperm(0, 1).empty());
  CHECK(randperm(1, 1) == std::vector<std::int64_t>{0});
  // The global generator is neither used nor advanced.
  manual_seed(3);
  const std::vector<double> expected = randn({5}).to_vector();
  manual_seed(3);
  const std::vector<std::int64_t> before = randperm(50, 9);
  CHECK(randn({5}).to_vector() == expected);
  manual_seed(4);
  CHECK(randperm(50, 9) == before);
  // randperm(n) takes its seed from the global generator: reproducible by manual_seed.
  manual_seed(3);
  const std::vector<std::int64_t> global = randperm(100);
  manual_seed(3);
  CHECK(randperm(100) == global);
  CHECK(randperm(100) != global);
  CHECK_THROWS_WITH(randperm(-1, 0), Catch::Contains("randperm: n must be >= 0, got -1"));
}

TEST_CASE("printing looks like PyTorch", "[tensor]") {
  std::ostringstream os;
  os << tensor({1, 2, 3, 4}, {2, 2}, kFloat64);
  CHECK(os.str() == "tensor([[1., 2.],\n        [3., 4.]], shape=[2,2], dtype=float64)");
  std::ostringstream os2;
  os2 << tensor({0.5, -1});
  CHECK(os2.str() == "tensor([0.5, -1.])");
  std::ostringstream os3;
  Tensor w = ones({2}).requires_grad_();
  os3 << w;
  CHECK(os3.str() == "tensor([1., 1.], requires_grad=true)");
}

TEST_CASE("the caching allocator reuses freed blocks", "[tensor]") {
  empty_cache();
  { Tensor t = empty({1000, 1000}); }
  const auto cached = memory_stats().bytes_cached;
  CHECK(cached >= 4000000);
  Tensor again = empty({1000, 1000});
  CHECK(memory_stats().bytes_cached == cached - 4000000);
}
