// Assertions shared by the test files.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <tapegrad/tapegrad.hpp>

namespace tg::testing {

/// Every element of t equals `expected` (exactly, or within `tol`), reported per element.
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 0.0) {
  const std::vector<double> got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    if (tol == 0.0)
      CHECK(got[i] == expected[i]);
    else
      CHECK(got[i] == Approx(expected[i]).margin(tol));
  }
}

/// gradcheck passes on f at `inputs`; its message is shown otherwise.
inline void check_gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(f, inputs);
  INFO(r.message);
  CHECK(r.passed);
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it at the end of the scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "tapegrad-test") {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path of `name` inside the directory, as a string.
  std::string file(const std::string& name) const { return (path / name).string(); }
  /// The directory's path as a string.
  std::string str() const { return path.string(); }
};

/// The whole file as text ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tg::testing
