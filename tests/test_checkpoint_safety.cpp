// A crash in the middle of tg::save never destroys the previous checkpoint.
//
// Child processes (fork) save a large model over an existing checkpoint and die
// mid-write: killed by SIGKILL after a random delay, killed by SIGXFSZ at an
// exact byte (a file-size limit, setrlimit(RLIMIT_FSIZE)), or refused by the
// same limit with SIGXFSZ ignored so that write() fails with EFBIG. After
// each, the file at the checkpoint's path must hold either the previous
// checkpoint or the child's completed one — both loading bit-exactly — and
// whatever the crash left behind must not get in the way of the next save.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
namespace fs = std::filesystem;
using Bytes = std::string;

namespace {

using tg::testing::TempDir;
using tg::testing::read_bytes;


// Two Linear(width -> width). The default, 1024, is 2.1 M parameters, an 8 MB
// checkpoint: a save (with its fsync) takes long enough to be interrupted in the middle.
std::shared_ptr<nn::Sequential> big_model(std::uint64_t seed, std::int64_t width = 1024) {
  manual_seed(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(width, width),
                                          std::make_shared<nn::Linear>(width, width));
}

// The bytes of every parameter, for bit-exact comparisons.
std::vector<Bytes> raw(const nn::Module& m) {
  std::vector<Bytes> out;
  for (const Tensor& t : m.parameters())
    out.emplace_back(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  return out;
}

// Sets every parameter to `value`, in place (the child's "newer" model).
void overwrite(nn::Module& m, float value) {
  for (Tensor t : m.parameters()) std::fill(t.data<float>(), t.data<float>() + t.numel(), value);
}

// Everything in `dir` other than `keep`.
std::vector<std::string> others(const fs::path& dir, const std::string& keep) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != keep) names.push_back(entry.path().filename().string());
  return names;
}

// Which complete checkpoint the file at `path` holds: 'A' (the previous one),
// 'B' (the child's) or '?' — also when it does not load at all.
char which_checkpoint(const std::string& path, const std::vector<Bytes>& a, const std::vector<Bytes>& b,
                      std::int64_t width = 1024) {
  auto probe = big_model(99, width);
  try {
    load(*probe, path);
  } catch (const std::exception& e) {
    UNSCOPED_INFO("load failed: " << e.what());
    return '?';
  }
  const std::vector<Bytes> got = raw(*probe);
  return got == a ? 'A' : got == b ? 'B' : '?';
}

// Runs `child` in a forked process that leaves with _exit (no Catch2, no
// static destructors in the child). Returns the waitpid status.
template <class F> int run_in_child(F&& child, std::chrono::microseconds kill_after = std::chrono::microseconds(-1),
                                    int* pipe_read_end = nullptr) {
  int fds[2] = {-1, -1};
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // a SIGXFSZ death must not write a 100 MB core file
    child(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  if (kill_after.count() >= 0) {
    std::this_thread::sleep_for(kill_after);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (pipe_read_end) *pipe_read_end = fds[0];
  else ::close(fds[0]);
  return status;
}

// Bytes the child wrote into the pipe (one per completed save).
int completed_saves(int fd) {
  int n = 0;
  char buf[256];
  for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) > 0;) n += static_cast<int>(got);
  ::close(fd);
  return n;
}

}  // namespace

TEST_CASE("a save killed at any byte leaves the previous checkpoint loadable bit-exactly", "[checkpoint][safety]") {
  TempDir dir;
  const std::string name = "model.tgc";
  const std::string path = (dir.path / name).string();
  const std::int64_t width = 512;  // 2 MB: the kill point is exact here, no need for a long write
  auto model = big_model(1, width);
  save(*model, path);
  const Bytes file_a = read_bytes(path);
  const std::vector<Bytes> a = raw(*model);
  overwrite(*model, 0.25f);
  const std::vector<Bytes> b = raw(*model);
  REQUIRE(a != b);
  const rlim_t size = file_a.size();

  // The child saves B under a file-size limit of `limit` bytes.
  auto save_limited = [&](rlim_t limit, bool ignore_sigxfsz) {
    return run_in_child([&](int) {
      if (ignore_sigxfsz) ::signal(SIGXFSZ, SIG_IGN);
      rlimit fsize{limit, limit};
      ::setrlimit(RLIMIT_FSIZE, &fsize);
      try {
        save(*model, path);
      } catch (const std::runtime_error& e) {
        ::_exit(std::strstr(e.what(), "File too large") && std::strstr(e.what(), name.c_str()) ? 10 : 11);
      } catch (...) {
        ::_exit(12);
      }
      ::_exit(0);
    });
  };

  for (rlim_t limit : {rlim_t{0}, rlim_t{1}, rlim_t{31}, rlim_t{32}, rlim_t{33}, rlim_t{4096}, size / 2, size - 1}) {
    SECTION("killed by SIGXFSZ after " + std::to_string(limit) + " of " + std::to_string(size) + " bytes") {
      const int status = save_limited(limit, false);
      REQUIRE(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == SIGXFSZ);
      CHECK(read_bytes(path) == file_a);
      CHECK(which_checkpoint(path, a, b, width) == 'A');
      // The only trace is the partial temporary file, cut at exactly `limit` bytes.
      const std::vector<std::string> left = others(dir.path, name);
      REQUIRE(left.size() == 1);
      CHECK(left[0].rfind(name + ".tmp.", 0) == 0);
      CHECK(fs::file_size(dir.path / left[0]) == limit);
      // It does not get in the way of the next save, which replaces the checkpoint.
      save(*model, path);
      CHECK(which_checkpoint(path, a, b, width) == 'B');
    }
    SECTION("write fails (EFBIG) after " + std::to_string(limit) + " of " + std::to_string(size) + " bytes") {
      const int status = save_limited(limit, true);
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 10);  // save threw std::runtime_error naming the file and the error
      CHECK(read_bytes(path) == file_a);
      CHECK(which_checkpoint(path, a, b, width) == 'A');
      CHECK(others(dir.path, name).empty());  // the failed save removed its temporary file
    }
  }
  SECTION("a limit of exactly the file's size lets the save complete") {
    const int status = save_limited(size, false);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(which_checkpoint(path, a, b, width) == 'B');
    CHECK(others(dir.path, name).empty());
  }
}

TEST_CASE("SIGKILL at random moments of repeated saves never leaves a broken checkpoint", "[checkpoint][safety]") {
  TempDir dir;
  const std::string name = "model.tgc";
  const std::string path = (dir.path / name).string();
  auto model = big_model(1);
  auto probe = big_model(2);
  const auto start = std::chrono::steady_clock::now();
  save(*model, path);
  const auto save_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  std::vector<Bytes> previous = raw(*model);

  // Each round a child saves the model with new values over and over, and is
  // killed after a random delay between 0 and 1.5 saves: some kills land before
  // its first save completes (the file must still hold the previous
  // checkpoint), some after (it must hold the child's).
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::int64_t> delay_us(0, 3 * std::max<std::int64_t>(save_time.count(), 1000) / 2);
  int kept_previous = 0, saw_newer = 0, killed_mid_write = 0;
  std::size_t leftovers = 0;
  // At least 20 rounds, more (up to 60) until both kinds of kill have happened.
  int rounds = 0;
  for (int round = 0; round < 60 && (round < 20 || kept_previous == 0 || killed_mid_write == 0); ++round) {
    ++rounds;
    overwrite(*model, static_cast<float>(round + 1));
    const std::vector<Bytes> newer = raw(*model);
    int done_fd = -1;
    const int status = run_in_child(
        [&](int done) {
          for (;;) {  // report each completed save with one byte
            save(*model, path);
            const char one = 1;
            if (::write(done, &one, 1) != 1) ::_exit(3);
          }
        },
        std::chrono::microseconds(delay_us(rng)), &done_fd);
    const int completed = completed_saves(done_fd);
    INFO("round " << round << ", child saves completed: " << completed);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);

    // The file holds one complete checkpoint, bit-exactly.
    load(*probe, path);
    const std::vector<Bytes> held = raw(*probe);
    if (completed > 0) CHECK(held == newer);
    else CHECK((held == previous || held == newer));  // newer: killed between its rename and its report
    kept_previous += held == previous;
    saw_newer += held == newer;

    // Anything left behind is a temporary file of this checkpoint, which the
    // next round's saves must not trip over.
    const std::vector<std::string> left = others(dir.path, name);
    for (const std::string& f : left) CHECK(f.rfind(name + ".tmp.", 0) == 0);
    killed_mid_write += left.size() > leftovers;
    leftovers = left.size();
    previous = held;
  }
  INFO("one save: " << save_time.count() << " us; previous kept " << kept_previous << ", newer " << saw_newer
                    << ", kills that left a temporary file " << killed_mid_write << " of " << rounds);
  CHECK(kept_previous + saw_newer == rounds);
  CHECK(kept_previous > 0);     // some kills came before a save completed ...
  CHECK(killed_mid_write > 0);  // ... and some inside a write, or the test proved nothing

  // After all that, a save still succeeds and loads bit-exactly.
  auto fresh = big_model(7);
  save(*fresh, path);
  load(*probe, path);
  CHECK(raw(*probe) == raw(*fresh));
}
