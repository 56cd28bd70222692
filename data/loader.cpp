// DataLoader: batches of any Dataset, in order, made by worker threads ahead
// of the training loop (see the top of <tapegrad/data/loader.hpp>).
//
// Workers and the caller share one small state under one mutex: the next batch
// number to make, the next one the caller will take, and the finished batches
// (or their errors) keyed by number. A worker may start batch k only while
// k < next_to_take + capacity, which bounds the batches alive at once; the
// caller waits for exactly the batch it wants, so the order never depends on
// which worker finished first.
#include <tapegrad/data/loader.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "core/dispatch.hpp"
#include "data/gather.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::data {

using detail::fail;

namespace {

// Stacks one field (input or target) of every example along a new first dimension.
Tensor stack_field(const std::vector<Example>& examples, Tensor Example::*field, const char* name) {
  const Tensor& first = examples.front().*field;
  if (!first.defined()) {
    for (std::size_t k = 1; k < examples.size(); ++k)
      if ((examples[k].*field).defined())
        fail("default_collate: example 0 of the batch has no ", name, " but example ", k, " has one");
    return Tensor();
  }
  Shape shape{static_cast<std::int64_t>(examples.size())};
  for (std::int64_t d : first.shape()) shape.push_back(d);
  Tensor out = empty(shape, first.dtype());
  const std::size_t bytes = static_cast<std::size_t>(first.numel()) * element_size(first.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  for (std::size_t k = 0; k < examples.size(); ++k) {
    const Tensor& t = examples[k].*field;
    if (!t.defined() || t.dtype() != first.dtype() || t.shape() != first.shape())
      fail("default_collate: the ", name, " of example ", k, " of the batch is ",
           t.defined() ? describe(t) : std::string("undefined"), " but that of example 0 is ", describe(first),
           "; every example's ", name, " must have the same shape and dtype");
    if (bytes) std::memcpy(dst + k * bytes, t.raw_data(), bytes);
  }
  return out;
}

std::string indices_str(const std::vector<std::int64_t>& order, std::int64_t first, std::int64_t count) {
  std::string s;
  for (std::int64_t k = 0; k < count; ++k) {
    if (k == 8) return s + ", ...";
    s += (k ? ", " : "") + std::to_string(order[static_cast<std::size_t>(first + k)]);
  }
  return s;
}

}  // namespace

Batch default_collate(const std::vector<Example>& examples) {
  if (examples.empty()) fail("default_collate: the batch holds no examples");
  return {stack_field(examples, &Example::input, "input"), stack_field(examples, &Example::target, "target")};
}

// ---- DataLoader -------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> data, BatchOptions batches, WorkerOptions workers,
                       Collate collate)
    : data_(std::move(data)), batches_(batches), workers_(workers), collate_(std::move(collate)) {
  if (!data_) fail("DataLoader: the data set is null");
  if (batches_.batch_size <= 0) fail("DataLoader: batch_size must be positive, got ", batches_.batch_size);
  if (workers_.num_workers < 0) fail("DataLoader: num_workers must be >= 0, got ", workers_.num_workers);
  if (workers_.prefetch_per_worker < 1)
    fail("DataLoader: prefetch_per_worker must be >= 1, got ", workers_.prefetch_per_worker);
}

std::int64_t DataLoader::num_batches() const { return batches_per_epoch(num_samples(), batches_); }

std::vector<std::int64_t> DataLoader::order(std::int64_t epoch) const {
  if (epoch < 0) fail("DataLoader: epoch must be >= 0, got ", epoch);
  return epoch_order(num_samples(), batches_.shuffle, batches_.seed, epoch);
}

// ---- one epoch: what the caller and the workers share -------------------------

struct DataLoader::Epoch::State {
  // Fixed before the workers start; read by everyone without the lock.
  std::shared_ptr<const Dataset> data;
  std::shared_ptr<const TensorDataset> tensors;  // set for the index_select fast path
  Collate collate;                                // empty: default_collate
  std::vector<std::int64_t> order;
  std::int64_t epoch = 0, batch_size = 0, num_batches = 0, capacity = 0;

  // Shared, under `mutex`.
  struct Finished {
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mutex;
  std::condition_variable work_wanted;     // workers wait: room for a batch, or stop
  std::condition_variable batch_finished;  // the caller waits for its batch
  std::int64_t next_to_make = 0, next_to_take = 0;
  std::map<std::int64_t, Finished> finished;
  bool stopping = false;

  std::vector<std::thread> workers;

  // Batch k, made by whichever thread calls this; throws what get/collate threw,
  // wrapped with the index.
  Batch make(std::int64_t k) const {
    const std::int64_t first = k * batch_size;
    const std::int64_t count = std::min(batch_size, static_cast<std::int64_t>(order.size()) - first);
    if (tensors) return gather_rows(tensors->images, tensors->labels, order, first, count);
    std::vector<Example> examples;
    examples.reserve(static_cast<std::size_t>(count));
    for (std::int64_t j = first; j < first + count; ++j) {
      const std::int64_t i = order[static_cast<std::size_t>(j)];
      try {
        examples.push_back(data->get(i));
      } catch (const std::exception& e) {
        std::throw_with_nested(std::runtime_error("DataLoader: dataset.get(" + std::to_string(i) + ") failed (batch " +
                                                  std::to_string(k) + " of epoch " + std::to_string(epoch) +
                                                  "): " + e.what()));
      } catch (...) {
        std::throw_with_nested(std::runtime_error("DataLoader: dataset.get(" + std::to_string(i) + ") failed (batch " +
                                                  std::to_string(k) + " of epoch " + std::to_string(epoch) +
                                                  ") with an exception that is not a std::exception"));
      }
    }
    try {
      return collate ? collate(examples) : default_collate(examples);
    } catch (const std::exception& e) {
      std::throw_with_nested(std::runtime_error("DataLoader: collating batch " + std::to_string(k) + " of epoch " +
                                                std::to_string(epoch) + " (dataset indices " +
                                                indices_str(order, first, count) + ") failed: " + e.what()));
    }
  }

  void work() {
    NoGradGuard no_grad;  // loading data never records on the tape
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_wanted.wait(lock, [&] {
        return stopping || next_to_make >= num_batches || next_to_make < next_to_take + capacity;
      });
      if (stopping || next_to_make >= num_batches) return;
      const std::int64_t k = next_to_make++;
      lock.unlock();
      Finished done;
      try {
        done.batch = make(k);
      } catch (...) {
        done.error = std::current_exception();
      }
      lock.lock();
      finished.emplace(k, std::move(done));
      batch_finished.notify_one();  // only the caller waits on it
    }
  }

  void stop_and_join() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    work_wanted.notify_all();
    for (std::thread& t : workers) t.join();
    workers.clear();
  }
};

DataLoader::Epoch DataLoader::epoch(std::int64_t epoch) const { return this->epoch(epoch, order(epoch)); }

DataLoader::Epoch DataLoader::epoch(std::int64_t epoch, std::vector<std::int64_t> order) const {
  if (epoch < 0) fail("DataLoader: epoch must be >= 0, got ", epoch);
  const std::int64_t n = num_samples();
  for (std::size_t k = 0; k < order.size(); ++k)
    if (order[k] < 0 || order[k] >= n)
      fail("DataLoader: index ", order[k], " at position ", k, " of the order given for epoch ", epoch,
           " is outside the data set's [0, ", n, ")");
  data_->set_epoch(epoch);  // before any worker calls get()
  auto state = std::make_unique<Epoch::State>();
  state->data = data_;
  if (!collate_) state->tensors = std::dynamic_pointer_cast<const TensorDataset>(data_);
  state->collate = collate_;
  state->order = std::move(order);
  state->epoch = epoch;
  state->batch_size = batches_.batch_size;
  state->num_batches = batches_per_epoch(static_cast<std::int64_t>(state->order.size()), batches_);
  state->capacity = std::int64_t{workers_.num_workers} * workers_.prefetch_per_worker;
  const int threads = static_cast<int>(std::min<std::int64_t>(workers_.num_workers, state->num_batches));
  try {
    for (int w = 0; w < threads; ++w) state->workers.emplace_back([s = state.get()] { s->work(); });
  } catch (...) {  // a thread that could not start: stop the ones that did
    state->stop_and_join();
    throw;
  }
  return Epoch(std::move(state));
}

DataLoader::Epoch::Epoch(std::unique_ptr<State> state)
    : state_(std::move(state)), num_batches_(state_->num_batches) {}

DataLoader::Epoch::Epoch(Epoch&&) noexcept = default;

DataLoader::Epoch& DataLoader::Epoch::operator=(Epoch&& other) noexcept {
  if (this != &other) {
    if (state_) state_->stop_and_join();
    state_ = std::move(other.state_);
    num_batches_ = other.num_batches_;
    taken_ = other.taken_;
  }
  return *this;
}

DataLoader::Epoch::~Epoch() {
  if (state_) state_->stop_and_join();
}

bool DataLoader::Epoch::next(Batch& out) {
  if (!state_ || taken_ >= num_batches_) return false;
  const std::int64_t k = taken_++;  // a batch that fails is still taken: the next call moves on
  State& s = *state_;
  if (s.workers.empty()) {
    NoGradGuard no_grad;
    out = s.make(k);
    return true;
  }
  State::Finished done;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.batch_finished.wait(lock, [&] { return s.finished.count(k) > 0; });
    auto it = s.finished.find(k);
    done = std::move(it->second);
    s.finished.erase(it);
    s.next_to_take = k + 1;
  }
  s.work_wanted.notify_all();  // room for one more batch
  if (done.error) std::rethrow_exception(done.error);
  out = std::move(done.batch);
  return true;
}

DataLoader::Epoch::iterator DataLoader::Epoch::begin() {
  iterator it(this, 0);
  it.fetch();
  return it;
}

void DataLoader::Epoch::iterator::fetch() {
  position_ = epoch_->next(batch_) ? epoch_->taken_ - 1 : epoch_->num_batches_;
}

}  // namespace tg::data
