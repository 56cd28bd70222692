// TAPEGRAD_CACHE_LIMIT read at the first tensor, as a user's program meets it
// (tests/CMakeLists.txt runs this with the variable set):
//   cache_limit_env BYTES   the limit must be BYTES;
//   cache_limit_env error   the first tensor must throw std::invalid_argument
//                           naming the variable, its value and the accepted forms.
// A program of its own: the test suite makes tensors before main().
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <tapegrad/tapegrad.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string expect = argv[1];
  const char* env = std::getenv("TAPEGRAD_CACHE_LIMIT");
  const std::string value = env ? env : "";
  try {
    tg::Tensor t = tg::empty({4});
    if (expect == "error") {
      std::printf("FAIL: TAPEGRAD_CACHE_LIMIT='%s' was accepted (limit %zu)\n", value.c_str(), tg::cache_limit());
      return 1;
    }
    const std::size_t want = std::stoull(expect);
    if (tg::cache_limit() != want || tg::memory_stats().cache_limit != want) {
      std::printf("FAIL: TAPEGRAD_CACHE_LIMIT='%s' gave the limit %zu, expected %zu\n", value.c_str(), tg::cache_limit(),
                  want);
      return 1;
    }
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    const bool ok = expect == "error" && m.find("TAPEGRAD_CACHE_LIMIT") != std::string::npos &&
                    m.find("'" + value + "'") != std::string::npos && m.find("256M") != std::string::npos;
    std::printf("%s: %s\n", ok ? "ok" : "FAIL", e.what());
    return ok ? 0 : 1;
  }
  std::printf("ok: TAPEGRAD_CACHE_LIMIT='%s' is a limit of %zu bytes\n", value.c_str(), tg::cache_limit());
  return 0;
}
