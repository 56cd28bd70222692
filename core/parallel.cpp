// A small persistent thread pool behind parallel_for, and the thread knob
// shared with OpenBLAS. Threads are created once (set_num_threads) and wait
// on a condition variable between jobs, so a parallel loop costs a wake-up,
// not a thread start.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel.hpp"
#include <tapegrad/core/parallel.hpp>

// OpenBLAS always runs single-threaded: tapegrad's pool owns the cores and splits
// large gemms itself (ops/blas.cpp). Its own threads would otherwise spin-wait
// (sched_yield) after every threaded call and steal the cores from our pool:
// perf showed ~45 % of a small-MLP training run in the scheduler that way.
// <cblas.h> cannot be included next to xtensor-blas headers (enum clash), so the
// OpenBLAS thread functions are declared here by hand.
extern "C" void openblas_set_num_threads(int num_threads);
// OpenBLAS starts its threads when it is loaded, and they spin-wait for a first
// job for a while: long enough to take the second core from our pool in a
// short program (sgemm 256 at 2 threads ran at one thread's speed in one run
// of three, 140 against 240 GFLOP/s). This stops them; OpenBLAS starts them
// again by itself when a call asks for more threads (its fork handler uses
// the same pair, so that path is kept working).
extern "C" int blas_thread_shutdown_(void);

namespace tg {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A whole number from the environment variable `name` within [lo, hi], or
// `fallback` when it is unset; anything else is refused, naming the variable.
int int_from_environment(const char* name, int lo, int hi, int fallback) {
  const char* env = std::getenv(name);
  if (!env || !*env) return fallback;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(env, &end, 10);
  if (*end != '\0' || errno == ERANGE || v < lo || v > hi)
    throw std::invalid_argument(std::string(name) + "=\"" + env + "\": expected a whole number from " +
                                std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<int>(v);
}

// How long an idle worker watches for the next job before it sleeps. 500 us
// keeps the worker awake through the serial stretches of a LeNet-5 step
// (b64 at 2 threads, before the element-wise ops were split: 36k images/s
// sleeping at once, 40k after 100 us, 44k after 400-1000 us; README "Threads"
// has the gains and the two small losses measured since).
constexpr int kDefaultSpinMicroseconds = 500;

std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds t(
      int_from_environment("TAPEGRAD_SPIN_US", 0, 1000000, kDefaultSpinMicroseconds));
  return t;
}

thread_local bool inside_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : size_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
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
    job->claimed.reset(new std::atomic<bool>[static_cast<std::size_t>(chunks)]);
    for (int i = 0; i < chunks; ++i) job->claimed[i].store(false, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = job;
      ++generation_;
    }
    wake_.notify_all();
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    take_chunks(*job, 0);
    if (job->done.load(std::memory_order_acquire) < chunks) {
      // Spin briefly (chunks are usually done at about the same time), then sleep.
      const Clock::time_point own_done = Clock::now();
      for (int spin = 0; spin < 2000 && job->done.load(std::memory_order_acquire) < chunks; ++spin)
        std::this_thread::yield();
      {
        std::unique_lock<std::mutex> lock(job->mutex);
        job->finished.wait(lock, [&] { return job->done.load(std::memory_order_acquire) == chunks; });
      }
      // Waiting for the others longer than our own share took, and long enough
      // to be a time slice rather than an uneven split: a worker was preempted
      // (see spin_until_job_or_timeout).
      const Clock::time_point end = Clock::now();
      if (end - own_done > kPreempted && end - own_done > own_done - start) be_quiet(end);
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
    std::unique_ptr<std::atomic<bool>[]> claimed;  // chunk i taken by some thread
    std::atomic<int> done{0};
    std::mutex mutex;
    std::condition_variable finished;
    std::exception_ptr error;
  };

  void work(int self) {
    std::uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      // A training step runs its parallel loops back to back, tens of
      // microseconds apart; a worker that went to sleep between them is woken
      // through the kernel (and, in a VM, an interrupt to an idle vCPU), which
      // cost more than the second half of a LeNet-5 pooling loop. So a worker
      // first watches for the next job for a short while, then sleeps.
      spin_until_job_or_timeout(seen);
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = current_;
      }
      if (job) take_chunks(*job, self);
    }
  }

  static constexpr std::chrono::microseconds kPreempted{300};
  // No spinning for a while: 250 ms, doubled (up to 8 s) each time the
  // machine is found busy again within a second of the last quiet spell.
  void be_quiet(std::chrono::steady_clock::time_point now) {
    const std::int64_t t = now.time_since_epoch().count();
    const std::int64_t second = std::chrono::steady_clock::duration(std::chrono::seconds(1)).count();
    const std::int64_t base = std::chrono::steady_clock::duration(std::chrono::milliseconds(250)).count();
    std::int64_t period = quiet_period_.load(std::memory_order_relaxed);
    period = t < quiet_until_.load(std::memory_order_relaxed) + second ? std::min(2 * period, 32 * base) : base;
    quiet_period_.store(period, std::memory_order_relaxed);
    quiet_until_.store(t + period, std::memory_order_relaxed);
  }

  // Spinning pays only while the cores are otherwise idle. On a busy machine
  // a spinning worker takes a share of a core from the programs that need it,
  // and is preempted holding a chunk the caller then waits for, for a whole
  // time slice (LeNet-5 b64 at 2 threads with 5 other busy processes: 21k
  // images/s sleeping at once, 11k spinning). Being preempted is visible
  // from inside the loop, as a jump of the clock between two checks; then no
  // worker spins for a while.
  void spin_until_job_or_timeout(std::uint64_t seen) {
    using Clock = std::chrono::steady_clock;
    if (spin_time().count() == 0) return;
    Clock::time_point last = Clock::now();
    if (last.time_since_epoch().count() < quiet_until_.load(std::memory_order_relaxed)) return;
    const Clock::time_point deadline = last + spin_time();
    while (generation_.load(std::memory_order_acquire) == seen) {
      for (int i = 0; i < 16; ++i) cpu_relax();
      const Clock::time_point now = Clock::now();
      if (now - last > kPreempted) {
        be_quiet(now);
        return;
      }
      if (now >= deadline) return;
      last = now;
    }
  }

  // Thread `self` (0 is the caller) runs chunk `self` first, then any chunk
  // nobody has taken. Chunk i of a loop thus runs on the same thread from one
  // loop to the next, as under OpenMP's static schedule: consecutive ops split
  // the same rows the same way, so each core finds its rows of the previous
  // op's output in its own cache (taken first-come, chunks wandered between
  // cores, and an LSTM step ran 20 % slower split than on one core).
  static void take_chunks(Job& job, int self) {
    if (self < job.chunks) run_chunk(job, self);
    for (int i = 0; i < job.chunks; ++i) run_chunk(job, i);
  }

  static void run_chunk(Job& job, int i) {
    if (job.claimed[i].load(std::memory_order_relaxed) || job.claimed[i].exchange(true, std::memory_order_acq_rel))
      return;
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

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Job> current_;
  std::atomic<std::int64_t> quiet_until_{0};   // steady_clock ticks: no spinning before then
  std::atomic<std::int64_t> quiet_period_{0};  // the last quiet spell's length, in ticks
  std::atomic<std::uint64_t> generation_{0};  // written under mutex_, read without it while spinning
  bool stop_ = false;
};

int default_threads() {
  return int_from_environment("TAPEGRAD_NUM_THREADS", 1, 1024,
                              static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
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
    const int threads = default_threads();
    (void)spin_time();  // an invalid TAPEGRAD_SPIN_US is refused here, not in a worker
    auto* st = new State();  // leaked: worker threads must outlive static destructors
    st->threads = threads;
    st->pool = std::make_shared<ThreadPool>(st->threads);
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
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

std::int64_t worker_spin_microseconds() { return spin_time().count(); }

void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  const std::int64_t max_chunks = grain > 0 ? n / grain : n;
  // Too little work for two chunks, or already inside a loop: run here, without
  // taking the pool's lock (tiny ops of small models never touch the pool).
  if (inside_region || max_chunks < 2) {
    fn(0, n);
    return;
  }
  const std::shared_ptr<ThreadPool> pool = state().current();
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
