// A small persistent thread pool behind parallel_for, and the thread knob
// shared with OpenBLAS. Threads are created once (set_num_threads) and wait
// on a condition variable between jobs, so a parallel loop costs a wake-up,
// not a thread start.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/parallel.hpp"
#include <tapegrad/core/parallel.hpp>

// OpenBLAS always runs single-threaded: tapegrad's pool owns the cores and splits
// large gemms itself (ops/blas.cpp). Its own threads would otherwise spin-wait
// (sched_yield) after every threaded call and steal the cores from our pool:
// perf showed ~45 % of a small-MLP training run in the scheduler that way.
// <cblas.h> cannot be included next to xtensor-blas headers (enum clash), so the
// OpenBLAS thread function is declared here by hand.
extern "C" void openblas_set_num_threads(int num_threads);

namespace tg {
namespace {

thread_local bool inside_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : size_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  /// Threads a loop runs on: the workers and the caller.
  int size() const { return size_; }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Runs task(0..chunks-1) on the workers and the calling thread. Each job is a
  // separate ref-counted object: a worker that wakes late (the machine is busy)
  // finds its job's chunks all taken and leaves, and never holds up the next
  // job. The caller takes chunks too, so a late worker costs no waiting.
  void run(int chunks, const std::function<void(int)>& task) {
    auto job = std::make_shared<Job>();
    job->task = &task;
    job->chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = job;
      ++generation_;
    }
    wake_.notify_all();
    take_chunks(*job);
    // Spin briefly (chunks are usually done at about the same time), then sleep.
    for (int spin = 0; spin < 2000 && job->done.load(std::memory_order_acquire) < chunks; ++spin)
      std::this_thread::yield();
    {
      std::unique_lock<std::mutex> lock(job->mutex);
      job->finished.wait(lock, [&] { return job->done.load(std::memory_order_acquire) == chunks; });
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_ == job) current_.reset();
    }
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  struct Job {
    const std::function<void(int)>* task = nullptr;  // valid until done == chunks
    int chunks = 0;
    std::atomic<int> next{0};
    std::atomic<int> done{0};
    std::mutex mutex;
    std::condition_variable finished;
    std::exception_ptr error;
  };

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = current_;
      }
      if (job) take_chunks(*job);
    }
  }

  static void take_chunks(Job& job) {
    for (;;) {
      const int i = job.next.fetch_add(1);
      if (i >= job.chunks) return;
      inside_region = true;
      try {
        (*job.task)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(job.mutex);
        if (!job.error) job.error = std::current_exception();
      }
      inside_region = false;
      if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.chunks) {
        std::lock_guard<std::mutex> lock(job.mutex);
        job.finished.notify_all();
      }
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Job> current_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("TAPEGRAD_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// The pool in use. set_num_threads replaces it while other threads may be
// running loops on the old one: each loop holds its own reference to the pool it
// started on, so the old pool lives until its last loop has finished.
struct State {
  std::mutex mutex;
  std::atomic<int> threads{0};
  std::shared_ptr<ThreadPool> pool;

  std::shared_ptr<ThreadPool> current() {
    std::lock_guard<std::mutex> lock(mutex);
    return pool;
  }
};

State& state() {
  static State* s = [] {
    auto* st = new State();  // leaked: worker threads must outlive static destructors
    st->threads = default_threads();
    st->pool = std::make_shared<ThreadPool>(st->threads);
    openblas_set_num_threads(1);
    return st;
  }();
  return *s;
}

}  // namespace

void set_num_threads(int n) {
  n = std::max(1, n);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (n == s.threads) return;
  s.pool = std::make_shared<ThreadPool>(n);
  s.threads = n;
}

int get_num_threads() { return state().threads; }

namespace detail {

bool in_parallel_region() { return inside_region; }

void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  if (inside_region) {
    fn(0, n);
    return;
  }
  const std::shared_ptr<ThreadPool> pool = state().current();
  const std::int64_t max_chunks = grain > 0 ? n / grain : n;
  const int chunks = static_cast<int>(std::min<std::int64_t>(pool->size(), max_chunks));
  if (chunks < 2) {
    fn(0, n);
    return;
  }
  pool->run(chunks, [&](int c) {
    const std::int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace detail
}  // namespace tg
