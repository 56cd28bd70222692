// TAPEGRAD_NUM_THREADS and TAPEGRAD_SPIN_US read when the thread pool starts,
// as a user's program meets them (tests/CMakeLists.txt runs this with them set):
//   thread_env THREADS SPIN_US   the pool must have THREADS threads, and
//                                tg::config() must report SPIN_US;
//   thread_env error NAME        the first call must throw std::invalid_argument
//                                naming the variable NAME and its value.
// A program of its own: the pool starts once per process.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <tapegrad/tapegrad.hpp>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string expect = argv[1], second = argv[2];
  try {
    const int threads = tg::get_num_threads();
    if (expect == "error") {
      std::printf("FAIL: %s was accepted (%d threads)\n", second.c_str(), threads);
      return 1;
    }
    const std::string config = tg::config_text();
    const std::string spin = "idle workers spin " + second + " us";
    if (threads != std::stoi(expect) || config.find(spin) == std::string::npos) {
      std::printf("FAIL: %d threads (expected %s), config:\n%s", threads, expect.c_str(), config.c_str());
      return 1;
    }
    // A parallel loop runs on the pool as configured.
    tg::Tensor x = tg::ones({64, 8, 32, 32});
    const double total = tg::sum(tg::max_pool2d(x, 2)).item<double>();
    if (total != 64.0 * 8 * 16 * 16) {
      std::printf("FAIL: max_pool2d of ones summed to %g\n", total);
      return 1;
    }
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    const char* env = std::getenv(second.c_str());
    const bool ok = expect == "error" && env && m.find(second + "=\"" + env + "\"") != std::string::npos;
    std::printf("%s: %s\n", ok ? "ok" : "FAIL", e.what());
    return ok ? 0 : 1;
  }
  std::printf("ok: %s threads, workers spin %s us\n", expect.c_str(), second.c_str());
  return 0;
}
