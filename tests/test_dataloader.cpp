// Datasets and the DataLoader: random access, Subset / random_split /
// ConcatDataset, batches in the epoch's order whatever the number of workers,
// errors from workers, and stopping mid-epoch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using tg::testing::range;
using tg::testing::sorted;
using Catch::Matchers::Contains;

namespace {

// Example i: input (10i, 10i+1) float32 [2], target i as a 0-d int64. Made on
// demand; counts the calls to get() and can be told to fail at one index or to
// take its time.
struct Numbered final : data::Dataset {
  explicit Numbered(std::int64_t n, std::int64_t fail_at = -1, int sleep_us = 0)
      : n_(n), fail_at_(fail_at), sleep_us_(sleep_us) {}
  std::int64_t size() const override { return n_; }
  data::Example get(std::int64_t i) const override {
    ++calls;
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    if (i == fail_at_) throw std::invalid_argument("cannot decode example " + std::to_string(i));
    return {tensor({10.0 * i, 10.0 * i + 1}, {2}), tensor_i64({i}, {})};
  }
  mutable std::atomic<std::int64_t> calls{0};

 private:
  std::int64_t n_, fail_at_;
  int sleep_us_;
};

// The targets of every batch of an epoch, batch by batch, and the inputs as values.
struct EpochRecord {
  std::vector<std::vector<std::int64_t>> targets;
  std::vector<std::vector<double>> inputs;
  std::vector<std::int64_t> flat() const {
    std::vector<std::int64_t> all;
    for (const auto& t : targets) all.insert(all.end(), t.begin(), t.end());
    return all;
  }
};

EpochRecord run_epoch(const data::DataLoader& loader, std::int64_t epoch) {
  EpochRecord r;
  for (const data::Batch& b : loader.epoch(epoch)) {
    r.targets.push_back(b.targets.to_vector<std::int64_t>());
    r.inputs.push_back(b.inputs.to_vector<double>());
  }
  return r;
}

std::shared_ptr<data::TensorDataset> numbered_tensors(std::int64_t n) {
  std::vector<double> x;
  for (std::int64_t i = 0; i < n; ++i) x.insert(x.end(), {10.0 * i, 10.0 * i + 1});
  return std::make_shared<data::TensorDataset>(tensor(x, {n, 2}), tensor_i64(range(n), {n}));
}

}  // namespace

// ---- datasets -------------------------------------------------------------------

TEST_CASE("TensorDataset: example i is row i of both tensors, as views", "[data][dataset]") {
  const auto d = numbered_tensors(5);
  CHECK(d->size() == 5);
  const data::Example e = d->get(3);
  CHECK(e.input.shape() == Shape{2});
  CHECK(e.input.to_vector<double>() == std::vector<double>{30, 31});
  CHECK(e.target.dim() == 0);
  CHECK(e.target.item<std::int64_t>() == 3);
  CHECK(e.input.raw_data() == static_cast<const float*>(d->images.raw_data()) + 6);  // no copy
  CHECK_THROWS_WITH(d->get(5), Contains("TensorDataset::get: index 5 is out of range for 5 examples"));
  CHECK_THROWS_WITH(d->get(-1), Contains("index -1"));
  CHECK(data::TensorDataset().size() == 0);
  CHECK_THROWS_WITH(data::TensorDataset(ones({3, 2}), tensor_i64({0, 1}, {2})),
                    Contains("TensorDataset") && Contains("[3,2]") && Contains("different numbers of samples"));
  CHECK_THROWS_WITH(data::TensorDataset(ones({3, 2}), Tensor()), Contains("TensorDataset") && Contains("defined"));
}

TEST_CASE("Subset, ConcatDataset and random_split pick the right examples", "[data][dataset]") {
  auto ten = std::make_shared<Numbered>(10);
  auto target_of = [](const data::Dataset& d, std::int64_t i) { return d.get(i).target.item<std::int64_t>(); };

  const data::Subset subset(ten, {7, 2, 2, 9});
  CHECK(subset.size() == 4);
  CHECK(target_of(subset, 0) == 7);
  CHECK(target_of(subset, 2) == 2);
  CHECK(subset.get(3).input.to_vector<double>() == std::vector<double>{90, 91});
  CHECK_THROWS_WITH(subset.get(4), Contains("Subset::get: index 4 is out of range for 4 examples"));
  CHECK_THROWS_WITH(data::Subset(ten, {1, 10}), Contains("Subset: index 10 (position 1) is out of range") &&
                                                    Contains("10 examples"));
  CHECK_THROWS_WITH(data::Subset(nullptr, {}), Contains("Subset: the data set is null"));

  auto three = std::make_shared<Numbered>(3);
  auto empty_part = std::make_shared<data::Subset>(ten, std::vector<std::int64_t>{});
  const data::ConcatDataset both({three, empty_part, ten});
  CHECK(both.size() == 13);
  std::vector<std::int64_t> all;
  for (std::int64_t i = 0; i < both.size(); ++i) all.push_back(target_of(both, i));
  CHECK(all == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK_THROWS_WITH(both.get(13), Contains("ConcatDataset::get: index 13 is out of range for 13 examples"));
  CHECK(data::ConcatDataset({}).size() == 0);
  CHECK_THROWS_WITH(data::ConcatDataset({three, nullptr}), Contains("ConcatDataset: part 1 is null"));

  SECTION("random_split: disjoint, complete, seeded by tapegrad's one shuffle") {
    const auto parts = data::random_split(ten, {6, 0, 4}, 5);
    REQUIRE(parts.size() == 3);
    CHECK(parts[0]->size() == 6);
    CHECK(parts[1]->size() == 0);
    CHECK(parts[2]->size() == 4);
    std::vector<std::int64_t> joined = parts[0]->indices();
    joined.insert(joined.end(), parts[2]->indices().begin(), parts[2]->indices().end());
    CHECK(joined == randperm(10, 5));          // dealt in the order randperm(n, seed)
    CHECK(sorted(joined) == range(10));         // every example once
    CHECK(target_of(*parts[2], 0) == joined[6]);
    CHECK(data::random_split(ten, {6, 0, 4}, 5)[0]->indices() == parts[0]->indices());  // reproducible
    CHECK(data::random_split(ten, {6, 0, 4}, 6)[0]->indices() != parts[0]->indices());
    CHECK_THROWS_WITH(data::random_split(ten, {6, 3}, 1),
                      Contains("random_split: the lengths sum to 9 but the data set holds 10 examples"));
    CHECK_THROWS_WITH(data::random_split(ten, {11, -1}, 1), Contains("lengths must be >= 0, got -1"));
  }
  SECTION("random_split_fractions: floor of each share, the rest to the first parts") {
    const auto parts = data::random_split_fractions(ten, {0.25, 0.25, 0.5}, 3);
    CHECK(parts[0]->size() == 3);  // floors 2 + 2 + 5 = 9: the one left over goes to the first part
    CHECK(parts[1]->size() == 2);
    CHECK(parts[2]->size() == 5);
    std::vector<std::int64_t> joined;
    for (const auto& p : parts) joined.insert(joined.end(), p->indices().begin(), p->indices().end());
    CHECK(joined == randperm(10, 3));
    CHECK(data::random_split_fractions(ten, {0.8, 0.2}, 1)[0]->size() == 8);
    CHECK_THROWS_WITH(data::random_split_fractions(ten, {0.5, 0.4}, 1),
                      Contains("random_split_fractions: the fractions sum to 0.9, not 1"));
    CHECK_THROWS_WITH(data::random_split_fractions(ten, {1.5, -0.5}, 1), Contains("must lie in [0, 1], got 1.5"));
  }
}

// ---- the loader -------------------------------------------------------------------

TEST_CASE("DataLoader: every example exactly once per epoch, reshuffled each epoch", "[data][loader]") {
  auto d = std::make_shared<Numbered>(100);
  for (int workers : {0, 1, 3}) {
    CAPTURE(workers);
    const data::DataLoader loader(d, {7, /*shuffle*/ true, /*seed*/ 42}, {workers});
    CHECK(loader.num_samples() == 100);
    CHECK(loader.num_batches() == 15);
    const EpochRecord e0 = run_epoch(loader, 0), e1 = run_epoch(loader, 1);
    CHECK(e0.targets.size() == 15);
    CHECK(e0.targets.back().size() == 2);  // 14 x 7 + 2
    CHECK(sorted(e0.flat()) == range(100));
    CHECK(sorted(e1.flat()) == range(100));
    CHECK(e0.flat() == loader.order(0));   // the batches follow the epoch's order ...
    CHECK(e0.flat() == randperm(100, 42, 0));  // ... tapegrad's one shuffle
    CHECK(e1.flat() != e0.flat());
  }
  const data::DataLoader in_order(d, {32, /*shuffle*/ false});
  CHECK(run_epoch(in_order, 3).flat() == range(100));
}

TEST_CASE("DataLoader: the same batches with 0, 1 and 3 workers and the same seed", "[data][loader]") {
  auto d = std::make_shared<Numbered>(61);
  const EpochRecord reference = run_epoch(data::DataLoader(d, {8, true, 9}, {0}), 2);
  for (int workers : {1, 3}) {
    for (int prefetch : {1, 2, 5}) {
      CAPTURE(workers, prefetch);
      const EpochRecord r = run_epoch(data::DataLoader(d, {8, true, 9}, {workers, prefetch}), 2);
      CHECK(r.targets == reference.targets);
      CHECK(r.inputs == reference.inputs);
    }
  }
  // Batch shapes: inputs stacked along a new first dimension, 0-d targets into [B].
  const data::DataLoader loader(d, {8, true, 9}, {2});
  data::DataLoader::Epoch epoch = loader.epoch(0);
  CHECK(epoch.size() == 8);
  data::Batch first;
  REQUIRE(epoch.next(first));
  CHECK(first.inputs.shape() == Shape{8, 2});
  CHECK(first.inputs.dtype() == kFloat32);
  CHECK(first.targets.shape() == Shape{8});
  CHECK(first.targets.dtype() == kInt64);
}

TEST_CASE("DataLoader over a TensorDataset gathers rows in one op, with the same result", "[data][loader]") {
  const auto tensors = numbered_tensors(50);
  const auto by_rows = run_epoch(data::DataLoader(tensors, {16, true, 3}, {2}), 1);
  // An explicit collate turns the fast path off: example by example.
  const auto by_examples = run_epoch(data::DataLoader(tensors, {16, true, 3}, {0}, data::default_collate), 1);
  CHECK(by_rows.targets == by_examples.targets);
  CHECK(by_rows.inputs == by_examples.inputs);
  // And the same batches as BatchLoader over the same tensors.
  const data::BatchLoader batch_loader(*tensors, {16, true, 3});
  std::vector<std::vector<std::int64_t>> from_batch_loader;
  for (const data::Batch& b : batch_loader.epoch(1)) from_batch_loader.push_back(b.targets.to_vector<std::int64_t>());
  CHECK(from_batch_loader == by_rows.targets);
}

TEST_CASE("DataLoader: drop_last drops only the short tail", "[data][loader]") {
  auto d = std::make_shared<Numbered>(10);
  for (int workers : {0, 2}) {
    const data::DataLoader loader(d, {3, false, 0, /*drop_last*/ true}, {workers});
    CHECK(loader.num_batches() == 3);
    const EpochRecord r = run_epoch(loader, 0);
    CHECK(r.targets.size() == 3);
    CHECK(r.flat() == range(9));
    CHECK(run_epoch(data::DataLoader(d, {64, false, 0, true}, {workers}), 0).targets.empty());
    CHECK(run_epoch(data::DataLoader(d, {64, false, 0, false}, {workers}), 0).flat() == range(10));
  }
  CHECK(run_epoch(data::DataLoader(std::make_shared<Numbered>(0), {4}, {2}), 0).targets.empty());
}

TEST_CASE("DataLoader: a custom collate gets the examples in the batch's order", "[data][loader]") {
  auto d = std::make_shared<Numbered>(20);
  data::Collate sum_targets = [](const std::vector<data::Example>& examples) {
    std::int64_t s = 0;
    for (const data::Example& e : examples) s += e.target.item<std::int64_t>();
    return data::Batch{scalar_tensor(static_cast<double>(examples.size())), tensor_i64({s}, {1})};
  };
  const data::DataLoader loader(d, {6, false}, {2}, sum_targets);
  std::vector<std::int64_t> sums;
  for (const data::Batch& b : loader.epoch(0)) sums.push_back(b.targets.item<std::int64_t>());
  CHECK(sums == std::vector<std::int64_t>{15, 51, 87, 37});  // 0..5, 6..11, 12..17, 18..19
}

TEST_CASE("DataLoader: an exception in get() reaches the caller with the dataset index", "[data][loader]") {
  auto d = std::make_shared<Numbered>(40, /*fail_at*/ 13);
  for (int workers : {0, 1, 3}) {
    CAPTURE(workers);
    const data::DataLoader loader(d, {4, /*shuffle*/ false}, {workers});
    data::DataLoader::Epoch epoch = loader.epoch(0);
    data::Batch b;
    for (int k = 0; k < 3; ++k) REQUIRE(epoch.next(b));  // batches 0..2 arrive normally
    CHECK(b.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{8, 9, 10, 11});
    try {
      epoch.next(b);  // batch 3 holds index 13
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Contains("DataLoader: dataset.get(13) failed (batch 3 of epoch 0)") &&
                               Contains("cannot decode example 13"));
      // The original exception, with its type, is nested inside.
      CHECK_THROWS_AS(std::rethrow_if_nested(e), std::invalid_argument);
    }
    REQUIRE(epoch.next(b));  // the epoch goes on past the failed batch
    CHECK(b.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{16, 17, 18, 19});
  }
  SECTION("in a range-for, the loop ends with the exception") {
    const data::DataLoader loader(d, {4, true, 1}, {2});
    std::int64_t seen = 0;
    auto loop = [&] {
      for (const data::Batch& b : loader.epoch(0)) seen += b.targets.numel();
    };
    CHECK_THROWS_WITH(loop(), Contains("dataset.get(13)"));
    CHECK(seen < 40);
  }
  SECTION("collate errors name the batch's dataset indices") {
    struct Ragged final : data::Dataset {
      std::int64_t size() const override { return 4; }
      data::Example get(std::int64_t i) const override { return {ones({i == 2 ? 3 : 2}), tensor_i64({i}, {})}; }
    };
    const data::DataLoader loader(std::make_shared<Ragged>(), {4, false}, {1});
    auto loop = [&] {
      for (const data::Batch& b : loader.epoch(0)) (void)b;
    };
    CHECK_THROWS_WITH(loop(), Contains("DataLoader: collating batch 0 of epoch 0 (dataset indices 0, 1, 2, 3)") &&
                                  Contains("default_collate: the input of example 2 of the batch is [3] float32") &&
                                  Contains("example 0 is [2] float32"));
  }
}

TEST_CASE("DataLoader: leaving an epoch early joins its workers; prefetch is bounded", "[data][loader]") {
  auto d = std::make_shared<Numbered>(4000, -1, /*sleep_us*/ 200);
  const data::DataLoader loader(d, {10, true, 7}, {3, /*prefetch_per_worker*/ 2});
  {
    std::int64_t taken = 0;
    for (const data::Batch& b : loader.epoch(0)) {
      (void)b;
      if (++taken == 2) break;  // the Epoch is destroyed here: workers stop and are joined
    }
    // At most 2 taken + 3 * 2 prefetched batches were ever made.
    CHECK(d->calls.load() <= (2 + 3 * 2) * 10);
  }
  const std::int64_t after = d->calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(d->calls.load() == after);  // no thread still calls get()

  // An epoch that is never iterated, or moved and dropped, stops cleanly too.
  { data::DataLoader::Epoch unused = loader.epoch(1); }
  {
    data::DataLoader::Epoch a = loader.epoch(2);
    data::DataLoader::Epoch b = std::move(a);
    data::Batch batch;
    CHECK_FALSE(a.next(batch));  // NOLINT: a moved-from epoch is empty
    CHECK(b.next(batch));
    a = loader.epoch(3);  // a takes a new epoch; b still runs its own
    CHECK(a.next(batch));
  }
  const std::int64_t settled = d->calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(d->calls.load() == settled);
}

TEST_CASE("DataLoader refuses options and data that do not fit", "[data][loader]") {
  auto d = std::make_shared<Numbered>(4);
  CHECK_THROWS_WITH(data::DataLoader(nullptr), Contains("DataLoader: the data set is null"));
  CHECK_THROWS_WITH(data::DataLoader(d, {0}), Contains("DataLoader: batch_size must be positive, got 0"));
  CHECK_THROWS_WITH(data::DataLoader(d, {4}, {-1}), Contains("DataLoader: num_workers must be >= 0, got -1"));
  CHECK_THROWS_WITH(data::DataLoader(d, {4}, {2, 0}), Contains("DataLoader: prefetch_per_worker must be >= 1, got 0"));
  CHECK_THROWS_WITH(data::DataLoader(d).epoch(-1), Contains("DataLoader: epoch must be >= 0, got -1"));
  CHECK_THROWS_WITH(data::default_collate({}), Contains("default_collate: the batch holds no examples"));
  CHECK_THROWS_WITH(data::default_collate({{ones({2}), Tensor()}, {ones({2}), tensor_i64({1}, {})}}),
                    Contains("example 0 of the batch has no target but example 1 has one"));
  // Unlabelled data: no example has a target, and neither has the batch.
  const data::Batch unlabelled = data::default_collate({{ones({2}), Tensor()}, {zeros({2}), Tensor()}});
  CHECK(unlabelled.inputs.shape() == Shape{2, 2});
  CHECK_FALSE(unlabelled.targets.defined());
}

TEST_CASE("DataLoader: an epoch over a given order (a shard, a subset) cut into batches as usual", "[data][loader]") {
  auto data = std::make_shared<Numbered>(10);
  for (int workers : {0, 2}) {
    data::DataLoader loader(data, {/*batch_size*/ 2, /*shuffle*/ true, /*seed*/ 3}, {workers});
    EpochRecord r;
    for (const data::Batch& b : loader.epoch(4, {9, 0, 7, 7, 3})) r.targets.push_back(b.targets.to_vector<std::int64_t>());
    CHECK(r.targets == std::vector<std::vector<std::int64_t>>{{9, 0}, {7, 7}, {3}});
    CHECK(loader.epoch(4, {}).size() == 0);
    CHECK_THROWS_WITH(loader.epoch(1, {0, 10}), Contains("DataLoader") && Contains("index 10 at position 1") &&
                                                    Contains("epoch 1") && Contains("[0, 10)"));
    CHECK_THROWS_WITH(loader.epoch(0, {-1}), Contains("index -1 at position 0"));
    CHECK_THROWS_WITH(loader.epoch(-1, {0}), Contains("epoch must be >= 0"));
  }
}

namespace {
// Remembers the last epoch it was told of; example i's input is that epoch.
struct EpochAware final : data::Dataset {
  std::int64_t size() const override { return 4; }
  data::Example get(std::int64_t i) const override {
    return {tensor({double(epoch.load())}, {1}), tensor_i64({i}, {})};
  }
  void set_epoch(std::int64_t e) const override { epoch = e; }
  mutable std::atomic<std::int64_t> epoch{-1};
};
}  // namespace

TEST_CASE("DataLoader tells the data set each epoch, through Subset and ConcatDataset", "[data][loader]") {
  auto inner = std::make_shared<EpochAware>();
  auto subset = std::make_shared<data::Subset>(inner, std::vector<std::int64_t>{3, 1});
  auto both = std::make_shared<data::ConcatDataset>(std::vector<std::shared_ptr<const data::Dataset>>{subset, inner});
  data::DataLoader loader(both, {/*batch_size*/ 6, /*shuffle*/ false}, {/*num_workers*/ 1});
  for (std::int64_t e : {5, 2}) {
    auto epoch = loader.epoch(e);
    CHECK(inner->epoch == e);  // told before the first batch is made
    for (const data::Batch& b : epoch) CHECK(b.inputs.to_vector() == std::vector<double>(6, double(e)));
  }
}

