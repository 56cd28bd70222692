// Where data sets live: the built-in sources, the directory resolver and the
// --data-dir flag. The search order is documented in <tapegrad/data/mnist.hpp>.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
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

// The standard places of data set `name`, in order: /usr/share/datasets/<name>
// (where Debian's dataset-* packages install), $XDG_CACHE_HOME/tapegrad/<name>
// when set, ~/.cache/tapegrad/<name>.
void add_standard_places(std::vector<std::string>& places, const std::string& name) {
  add_place(places, fs::path("/usr/share/datasets") / name);
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

namespace {

// A data set in the MNIST layout, at `dir_name` in the standard places.
DatasetSource standard_source(std::string name, std::string env_var, const std::string& dir_name,
                              std::string how_to_get) {
  DatasetSource s;
  s.name = std::move(name);
  s.env_var = std::move(env_var);
  add_standard_places(s.search_dirs, dir_name);
  s.how_to_get = std::move(how_to_get);
  return s;
}

}  // namespace

DatasetSource mnist_source() {
  return standard_source("MNIST", "TAPEGRAD_DATA", "mnist",
                         "Download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                         "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (e.g. from "
                         "https://ossci-datasets.s3.amazonaws.com/mnist/).");
}

DatasetSource fashion_mnist_source() {
  return standard_source("Fashion-MNIST", "TAPEGRAD_FASHION_DATA", "fashion-mnist",
                         "Install it with `apt-get install dataset-fashion-mnist` (it puts the four .gz files "
                         "in /usr/share/datasets/fashion-mnist).");
}

std::string find_data_dir(const DatasetSource& source, Split split, const std::string& data_dir) {
  const std::string what = source.name + " " + split_name(split) + " set";
  const std::string how_to_get = source.how_to_get.empty() ? "" : source.how_to_get + " ";
  // Given explicitly, the directory is the only place looked at.
  if (!data_dir.empty()) {
    const std::string missing = what_is_missing(source, split, data_dir);
    if (missing.empty()) return data_dir;
    fail(what, " not found in ", data_dir, " (the data_dir argument): ", missing,
         ". A directory given explicitly is the only place looked at. ", how_to_get,
         "Put them in that directory, or pass the directory that holds them.");
  }

  struct Place {
    std::string dir, origin;
  };
  std::vector<Place> places;
  if (const std::string from_env = source.env_var.empty() ? "" : env(source.env_var.c_str()); !from_env.empty()) {
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
  const std::string point_env =
      source.env_var.empty() ? "" : "point $" + source.env_var + " at the directory that holds them, or ";
  fail(what, " not found. Looked in:", looked, "\n", how_to_get, "Put them in one of these directories, ", point_env,
       "pass that directory to the loader.");
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
