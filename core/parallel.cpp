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
#include <tapegrad/parallel.hpp>

// <cblas.h> cannot be included next to xtensor-blas headers (enum clash), so the
// OpenBLAS thread functions are declared here by hand.
extern "C" void openblas_set_num_threads(int num_threads);

namespace tg {
namespace {

thread_local bool inside_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Runs task(0..chunks-1) on the workers and the calling thread.
  // A job is published only while no worker is inside take_chunks(), and run()
  // returns only when none is, so a worker never sees a half-published job.
  void run(int chunks, const std::function<void(int)>& task) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one job at a time
    {
      std::unique_lock<std::mutex> lock(mutex_);
      idle_.wait(lock, [&] { return busy_ == 0; });
      task_ = &task;
      chunks_ = chunks;
      next_.store(0);
      done_ = 0;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    take_chunks();
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return done_ == chunks_ && busy_ == 0; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        ++busy_;
      }
      take_chunks();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_;
      }
      idle_.notify_all();
    }
  }

  void take_chunks() {
    for (;;) {
      const int i = next_.fetch_add(1);
      if (i >= chunks_) return;
      inside_region = true;
      try {
        (*task_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      inside_region = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++done_;
      }
      idle_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, idle_;
  const std::function<void(int)>* task_ = nullptr;
  int chunks_ = 0;
  int done_ = 0;
  int busy_ = 0;
  std::atomic<int> next_{0};
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("TAPEGRAD_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

struct State {
  std::mutex mutex;
  int threads = 0;
  std::unique_ptr<ThreadPool> pool;
};

State& state() {
  static State* s = [] {
    auto* st = new State();  // leaked: worker threads must outlive static destructors
    st->threads = default_threads();
    st->pool = std::make_unique<ThreadPool>(st->threads);
    openblas_set_num_threads(st->threads);
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
  s.pool = std::make_unique<ThreadPool>(n);
  s.threads = n;
  openblas_set_num_threads(n);
}

int get_num_threads() { return state().threads; }

namespace detail {

bool in_parallel_region() { return inside_region; }

void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  State& s = state();
  const std::int64_t max_chunks = grain > 0 ? n / grain : n;
  const int chunks = static_cast<int>(std::min<std::int64_t>(s.threads, max_chunks));
  if (chunks < 2 || inside_region) {
    fn(0, n);
    return;
  }
  s.pool->run(chunks, [&](int c) {
    const std::int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

SingleThreadedBlas::SingleThreadedBlas() {
  if (state().threads > 1) openblas_set_num_threads(1);
}
SingleThreadedBlas::~SingleThreadedBlas() {
  if (state().threads > 1) openblas_set_num_threads(state().threads);
}

}  // namespace detail
}  // namespace tg
