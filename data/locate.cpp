// Where data sets live: the built-in sources, the directory resolver and the
// --data-dir flag. The search order is documented in <tapegrad/data/mnist.hpp>.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/dispatch.hpp"
#include "data/locate.hpp"
#include <tapegrad/data/mnist.hpp>

namespace tg {
namespace detail {

std::string idx_file_in(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  for (const std::string& name : {stem, stem + ".gz"}) {
    const fs::path path = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

}  // namespace detail

namespace data {
namespace {

namespace fs = std::filesystem;
using detail::fail;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Appends `dir` in normal form unless it is already listed.
void add_place(std::vector<std::string>& places, const fs::path& dir) {
  const std::string normal = dir.lexically_normal().string();
  for (const std::string& p : places)
    if (p == normal) return;
  places.push_back(normal);
}

// The user's cache directories for `name`: $XDG_CACHE_HOME/tapegrad/<name>, ~/.cache/tapegrad/<name>.
void add_cache_places(std::vector<std::string>& places, const std::string& name) {
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) add_place(places, fs::path(xdg) / "tapegrad" / name);
  if (const std::string home = env("HOME"); !home.empty()) add_place(places, fs::path(home) / ".cache" / "tapegrad" / name);
}

// Why `dir` does not hold `split` of `source`, or "" when it does.
std::string what_is_missing(const DatasetSource& source, Split split, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fs::exists(dir, ec) ? "not a directory" : "no such directory";
  const bool train = split == Split::Train;
  std::string missing;
  for (const std::string* stem : {train ? &source.train_images : &source.test_images,
                                  train ? &source.train_labels : &source.test_labels})
    if (detail::idx_file_in(dir, *stem).empty()) missing += (missing.empty() ? "" : " and ") + *stem + "[.gz]";
  return missing.empty() ? "" : "missing " + missing;
}

}  // namespace

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

DatasetSource mnist_source() {
  DatasetSource s;
  s.name = "MNIST";
  s.env_var = "TAPEGRAD_DATA";
  const fs::path relative = fs::path("..") / "shared" / "data" / "mnist";
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (!ec) add_place(s.search_dirs, cwd / relative);
  // The executable's directory and its ancestors: finds the shared data from any
  // build directory of any worktree (e.g. /work/wt/build/tests -> /work/shared/...).
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path dir = exe.parent_path(); dir.has_relative_path(); dir = dir.parent_path())
      add_place(s.search_dirs, dir / relative);
  add_place(s.search_dirs, "/work/shared/data/mnist");
  add_cache_places(s.search_dirs, "mnist");
  s.how_to_get =
      "Download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
      "t10k-labels-idx1-ubyte.gz (e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/) into one of these "
      "directories, or pass --data-dir DIR or set TAPEGRAD_DATA=DIR for the directory that holds them.";
  return s;
}

DatasetSource fashion_mnist_source() {
  DatasetSource s;
  s.name = "Fashion-MNIST";
  s.env_var = "TAPEGRAD_FASHION_DATA";
  add_place(s.search_dirs, "/usr/share/datasets/fashion-mnist");
  add_cache_places(s.search_dirs, "fashion-mnist");
  s.how_to_get =
      "Install it with `apt-get install dataset-fashion-mnist` (it puts the four .gz files in "
      "/usr/share/datasets/fashion-mnist), or pass --data-dir DIR or set TAPEGRAD_FASHION_DATA=DIR for a "
      "directory that holds them.";
  return s;
}

std::string find_data_dir(const DatasetSource& source, Split split, const std::string& data_dir) {
  struct Place {
    std::string dir, origin;
  };
  std::vector<Place> places;
  if (!data_dir.empty()) {
    places.push_back({data_dir, "--data-dir"});
  } else if (const std::string from_env = source.env_var.empty() ? "" : env(source.env_var.c_str());
             !from_env.empty()) {
    places.push_back({from_env, "$" + source.env_var});
  } else {
    for (const std::string& dir : source.search_dirs) places.push_back({dir, ""});
  }

  std::string looked;
  for (const Place& place : places) {
    const std::string missing = what_is_missing(source, split, place.dir);
    if (missing.empty()) return place.dir;
    looked += "\n  " + place.dir + (place.origin.empty() ? "" : " (" + place.origin + ")") + ": " + missing;
  }
  if (places.empty()) looked = "\n  (no places to look: the source lists no search directories)";
  fail(source.name, " ", split_name(split), " set not found. Looked in:", looked, "\n", source.how_to_get);
}

std::string data_dir_flag(int argc, const char* const* argv) {
  const std::string flag = "--data-dir";
  std::string value;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == flag) {
      if (i + 1 >= argc) fail(flag, ": needs a directory (--data-dir DIR or --data-dir=DIR)");
      value = argv[++i];
    } else if (arg.compare(0, flag.size() + 1, flag + "=") == 0) {
      value = arg.substr(flag.size() + 1);
    } else {
      continue;
    }
    if (value.empty()) fail(flag, ": the directory is empty (--data-dir DIR or --data-dir=DIR)");
  }
  return value;
}

}  // namespace data
}  // namespace tg
