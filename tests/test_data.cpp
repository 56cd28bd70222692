// Data loading: the IDX reader against files written here byte by byte (plain
// and gzip, valid and broken), MNIST-layout directories and their resolver,
// the dataset helpers, the minibatch loader, and — when present — the real
// MNIST and Fashion-MNIST test sets.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using tg::testing::range;
using tg::testing::sorted;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh directory, removed with everything in it at the end of the test.
using tg::testing::TempDir;
using tg::testing::gzip;
using tg::testing::write_file;

// Sets an environment variable for the lifetime of the guard.
struct EnvGuard {
  std::string name;
  std::optional<std::string> previous;
  EnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* old = std::getenv(name.c_str())) previous = old;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (previous) ::setenv(name.c_str(), previous->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

void put_u32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file spelled out: 00 00 <type> <ndims>, big-endian extents, data.
Bytes idx_file(const std::vector<std::uint32_t>& dims, const Bytes& data, std::uint8_t type = 0x08) {
  Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) put_u32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// n bytes that deflate cannot shrink much (a linear congruential sequence).
Bytes noise(std::size_t n, std::uint32_t seed = 1) {
  Bytes b(n);
  for (auto& v : b) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<std::uint8_t>(seed >> 24);
  }
  return b;
}

Bytes iota_bytes(std::size_t n, int step = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * step);
  return b;
}

// A small MNIST-layout split in `dir`: n images of 28x28 and their labels.
void write_split(const TempDir& dir, const std::string& prefix, const Bytes& labels, bool gz_images = true,
                 bool gz_labels = false) {
  const auto n = static_cast<std::uint32_t>(labels.size());
  const Bytes images = idx_file({n, 28, 28}, noise(n * 784u, n));
  const Bytes label_file = idx_file({n}, labels);
  write_file(dir.file(prefix + "-images-idx3-ubyte" + (gz_images ? ".gz" : "")), gz_images ? gzip(images) : images);
  write_file(dir.file(prefix + "-labels-idx1-ubyte" + (gz_labels ? ".gz" : "")),
             gz_labels ? gzip(label_file) : label_file);
}

std::vector<std::int64_t> labels_of(const Tensor& t) { return t.to_vector<std::int64_t>(); }

}  // namespace

// ---- the IDX reader ----------------------------------------------------------

TEST_CASE("read_idx reads plain and gzip IDX files, recognising gzip by content", "[data]") {
  TempDir dir;
  const Bytes data = iota_bytes(12, 20);
  const Bytes plain = idx_file({3, 2, 2}, data);
  const Bytes gz = gzip(plain);
  write_file(dir.file("plain-idx3-ubyte"), plain);
  write_file(dir.file("packed-idx3-ubyte.gz"), gz);
  write_file(dir.file("packed-but-named-plain-idx3-ubyte"), gz);
  write_file(dir.file("plain-but-named.gz"), plain);
  for (const char* name :
       {"plain-idx3-ubyte", "packed-idx3-ubyte.gz", "packed-but-named-plain-idx3-ubyte", "plain-but-named.gz"}) {
    INFO(name);
    const data::IdxArray a = data::read_idx(dir.file(name));
    CHECK(a.dims == std::vector<std::int64_t>{3, 2, 2});
    CHECK(a.data == data);
  }

  // A zero extent is a valid, empty file; a 1-D file is a label file.
  write_file(dir.file("empty"), idx_file({0, 28, 28}, {}));
  CHECK(data::read_idx(dir.file("empty")).data.empty());
  write_file(dir.file("labels.gz"), gzip(idx_file({5}, {7, 2, 1, 0, 4})));
  CHECK(data::read_idx(dir.file("labels.gz")).data == Bytes{7, 2, 1, 0, 4});
}

TEST_CASE("read_idx refuses broken files, naming the file and the problem", "[data]") {
  TempDir dir;
  const Bytes data = noise(4000);
  const Bytes good = idx_file({1000, 2, 2}, data);
  const Bytes good_gz = gzip(good);
  auto refuses = [&](const std::string& name, const Bytes& bytes, const std::string& what) {
    const std::string path = dir.file(name);
    write_file(path, bytes);
    INFO(name);
    CHECK_THROWS_AS(data::read_idx(path), std::invalid_argument);
    CHECK_THROWS_WITH(data::read_idx(path), Contains(path) && Contains(what));
  };

  SECTION("missing files and directories") {
    CHECK_THROWS_WITH(data::read_idx(dir.file("nope")), Contains(dir.file("nope")) && Contains("no such file"));
    CHECK_THROWS_WITH(data::read_idx(dir.str()), Contains(dir.str()) && Contains("is a directory"));
  }
  SECTION("a header cut short") {
    refuses("empty", {}, "truncated: the file ends inside the IDX header (0 of 4 bytes)");
    refuses("half-magic", {0, 0}, "inside the IDX header (2 of 4 bytes)");
    refuses("half-extents", {0, 0, 8, 3, 0, 0, 0, 9, 0, 0}, "inside the IDX header (10 of 16 bytes)");
    refuses("half-extents.gz", gzip({0, 0, 8, 3, 0, 0, 0, 9, 0, 0}), "inside the IDX header (10 of 16 bytes)");
  }
  SECTION("a wrong magic number") {
    refuses("text", {'h', 'e', 'l', 'l', 'o', '\n'}, "not an IDX file: bad magic number 0x68656C6C");
    refuses("text.gz", gzip({'h', 'e', 'l', 'l', 'o', '\n'}), "bad magic number 0x68656C6C");
  }
  SECTION("element types other than unsigned byte") {
    refuses("floats", idx_file({2}, noise(8), 0x0D), "element type 0x0D (float32) is not supported; only 0x08");
    refuses("ints", idx_file({2}, noise(8), 0x0C), "element type 0x0C (int32) is not supported");
    refuses("unknown", idx_file({2}, noise(2), 0x42), "unknown element type 0x42 in magic number 0x00004201");
  }
  SECTION("a dimension count out of range") {
    refuses("zero-dims", idx_file({}, noise(4)), "declares 0 dimensions");
    refuses("nine-dims", idx_file({1, 1, 1, 1, 1, 1, 1, 1, 1}, noise(1)), "declares 9 dimensions");
  }
  SECTION("less data than the header promises") {
    Bytes cut = good;
    cut.resize(good.size() - 3992);
    refuses("cut-idx3-ubyte", cut, "truncated: expected 4000 bytes of data, got 8");
    refuses("lying-count", idx_file({1000, 28, 28}, noise(2 * 784)), "truncated: expected 784000 bytes of data, got 1568");
    refuses("lying-count.gz", gzip(idx_file({1000, 28, 28}, noise(2 * 784))),
            "truncated: expected 784000 bytes of data, got 1568");
  }
  SECTION("a gzip file cut short") {
    Bytes cut = good_gz;
    cut.resize(good_gz.size() / 2);
    refuses("cut.gz", cut, "truncated: expected 4000 bytes of data, got ");
    CHECK_THROWS_WITH(data::read_idx(dir.file("cut.gz")), Contains("gzip stream is cut off"));
    Bytes no_trailer = good_gz;
    no_trailer.resize(good_gz.size() - 8);  // all the data, but no CRC-32 and length
    refuses("no-trailer.gz", no_trailer, "cut off after all 4000 bytes of data, before its end-of-stream checksum");
  }
  SECTION("extents too large to be true") {
    refuses("huge", idx_file({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, noise(16)),
            "dimensions [4294967295,4294967295,4294967295] describe more than 2147483648 bytes");
    refuses("huge.gz", gzip(idx_file({100000, 28, 28, 28}, noise(16))), "describe more than 2147483648 bytes");
    // 784 MB promised (under the limit) by a gzip file of a few kB: refused
    // from the file size, before a buffer of that size is allocated.
    refuses("lying-count-big.gz", gzip(idx_file({1000000, 28, 28}, noise(2 * 784))),
            "truncated: expected 784000000 bytes of data, but a gzip file of ");
    CHECK_THROWS_WITH(data::read_idx(dir.file("lying-count-big.gz")), Contains("1032:1"));
  }
  SECTION("bytes after the data are an error, not ignored") {
    Bytes extra = good;
    extra.insert(extra.end(), {1, 2, 3});
    refuses("extra", extra, "3 unexpected bytes after the 4000 bytes of data that the header's dimensions [1000,2,2]");
    refuses("extra.gz", gzip(extra), "3 unexpected bytes after the 4000 bytes of data");
  }
  SECTION("a corrupt gzip stream") {
    Bytes bad_crc = good_gz;
    bad_crc[bad_crc.size() - 8] ^= 0xFF;  // the CRC-32 of the trailer
    refuses("bad-crc.gz", bad_crc, "corrupt gzip stream: incorrect data check");
    Bytes bad_length = good_gz;
    bad_length[bad_length.size() - 4] ^= 0x01;  // ISIZE, the length modulo 2^32
    refuses("bad-length.gz", bad_length, "corrupt gzip stream: incorrect length check");
    Bytes bad_block = good_gz;
    bad_block[10] |= 0x06;  // the first deflate block header: BTYPE 11 is reserved
    refuses("bad-block.gz", bad_block, "corrupt gzip stream: invalid block type");
    Bytes flipped = good_gz;
    for (std::size_t i = 40; i < 60; ++i) flipped[i] ^= 0x5A;  // garbage in the middle of the data
    refuses("flipped.gz", flipped, "corrupt gzip stream: ");
  }
}

// Found by fuzz/fuzz_idx (scripts/fuzz.sh): a zero extent used to skip the size
// limit, so read_idx accepted [4244635644,4294967068,0]; load_idx_images then
// built a tensor whose extents overflow int64 (signed overflow in Shape::numel).
TEST_CASE("read_idx refuses huge extents next to a zero extent (fuzzer finding)", "[data][fuzz]") {
  TempDir dir;
  const std::string path = dir.file("zero-and-huge");
  // The fuzzer's input, as the file it wrote: magic 0x00000803, dims [0xFCFFFFFC, 0xFFFFFF1C, 0], no data.
  write_file(path, {0x00, 0x00, 0x08, 0x03, 0xfc, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0x1c, 0x00, 0x00, 0x00, 0x00});
  const std::string what = path + ": the header's dimensions [4244635644,4294967068,0] describe more than " +
                           "2147483648 bytes of data (leaving out the zero extents)";
  CHECK_THROWS_AS(data::read_idx(path), std::invalid_argument);
  CHECK_THROWS_WITH(data::read_idx(path), Contains(what));
  CHECK_THROWS_WITH(data::load_idx_images(path), Contains(what));
  // The zero may come first; gzip changes nothing.
  write_file(path, gzip(idx_file({0, 0xFFFFFFFFu, 0xFFFFFFFFu}, {})));
  CHECK_THROWS_WITH(data::read_idx(path), Contains("[0,4294967295,4294967295] describe more than"));
  // Empty files of a sane shape still load, as zero images.
  write_file(path, idx_file({0, 28, 28}, {}));
  const Tensor none = data::load_idx_images(path);
  CHECK(none.shape() == Shape{0, 1, 28, 28});
  write_file(path, idx_file({0, 1u << 16, 1u << 15}, {}));  // 2^31 bytes per image: at the limit
  CHECK(data::read_idx(path).dims == std::vector<std::int64_t>{0, 1 << 16, 1 << 15});
  write_file(path, idx_file({0, 1u << 16, (1u << 15) + 1}, {}));  // one past it
  CHECK_THROWS_WITH(data::read_idx(path), Contains("leaving out the zero extents"));
}

TEST_CASE("IDX images become float32 [N,1,H,W] = byte / 255 and labels int64 [N]", "[data]") {
  TempDir dir;
  const Bytes pixels = {0, 255, 1, 128, 51, 102, 153, 204, 17, 34, 68, 254};
  write_file(dir.file("images.gz"), gzip(idx_file({3, 2, 2}, pixels)));
  write_file(dir.file("labels"), idx_file({3}, {9, 0, 5}));

  const Tensor images = data::load_idx_images(dir.file("images.gz"));
  CHECK(images.shape() == Shape{3, 1, 2, 2});
  CHECK(images.dtype() == kFloat32);
  const std::vector<float> values = images.to_vector<float>();
  for (std::size_t i = 0; i < pixels.size(); ++i) CHECK(values[i] == static_cast<float>(pixels[i] / 255.0));
  CHECK(values[0] == 0.0f);
  CHECK(values[1] == 1.0f);

  const Tensor labels = data::load_idx_labels(dir.file("labels"));
  CHECK(labels.dtype() == kInt64);
  CHECK(labels_of(labels) == std::vector<std::int64_t>{9, 0, 5});

  CHECK_THROWS_WITH(data::load_idx_images(dir.file("labels")),
                    Contains(dir.file("labels")) && Contains("expected images [N,rows,cols]") &&
                        Contains("got [3] (a label file?)"));
  CHECK_THROWS_WITH(data::load_idx_labels(dir.file("images.gz")),
                    Contains("images.gz") && Contains("expected labels [N]") && Contains("got [3,2,2]"));
}

// ---- MNIST-layout directories and where they are found ----------------------------

TEST_CASE("load_mnist loads a split from a directory of plain or gzip files", "[data]") {
  TempDir dir;
  write_split(dir, "t10k", {7, 2, 1, 0, 4}, /*gz_images=*/true, /*gz_labels=*/false);
  const data::TensorDataset test = data::load_mnist(dir.str(), data::Split::Test);
  CHECK(test.size() == 5);
  CHECK(test.images.shape() == Shape{5, 1, 28, 28});
  CHECK(labels_of(test.labels) == std::vector<std::int64_t>{7, 2, 1, 0, 4});
  const Bytes pixels = noise(5 * 784, 5);
  CHECK(test.images.to_vector<float>()[1000] == static_cast<float>(pixels[1000] / 255.0));

  // The plain file wins over the .gz one when both are present.
  write_file(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(idx_file({5}, {1, 1, 1, 1, 1})));
  CHECK(labels_of(data::load_mnist(dir.str(), data::Split::Test).labels)[0] == 7);

  // The other split is not there: the error says where it looked and what is missing.
  CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::Train),
                    Contains("MNIST train set not found") && Contains(dir.str() + " (the data_dir argument)") &&
                        Contains("missing train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]") &&
                        Contains("Download train-images-idx3-ubyte.gz") && !Contains("--data-dir"));
}

TEST_CASE("load_mnist refuses files that do not pair up", "[data]") {
  SECTION("different counts") {
    TempDir dir;
    write_split(dir, "train", {1, 2, 3});
    write_file(dir.file("train-labels-idx1-ubyte"), idx_file({2}, {1, 2}));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::Train),
                      Contains("train-images-idx3-ubyte.gz holds 3 images but") &&
                          Contains("train-labels-idx1-ubyte holds 2 labels"));
  }
  SECTION("a label outside 0..9") {
    TempDir dir;
    write_split(dir, "train", {1, 2, 10});
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::Train),
                      Contains("train-labels-idx1-ubyte: label 10 at index 2 is outside [0, 10)"));
  }
  SECTION("image and label files swapped") {
    TempDir dir;
    write_file(dir.file("t10k-images-idx3-ubyte"), idx_file({2}, {1, 2}));
    write_file(dir.file("t10k-labels-idx1-ubyte"), idx_file({2, 28, 28}, noise(2 * 784)));
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::Test),
                      Contains("t10k-images-idx3-ubyte: expected images") && Contains("(a label file?)"));
  }
  SECTION("a corrupt file inside the directory") {
    TempDir dir;
    write_split(dir, "t10k", {1, 2});
    Bytes gz = gzip(idx_file({2, 28, 28}, noise(2 * 784)));
    gz[gz.size() - 6] ^= 0x10;
    write_file(dir.file("t10k-images-idx3-ubyte.gz"), gz);
    CHECK_THROWS_WITH(data::load_mnist(dir.str(), data::Split::Test),
                      Contains("t10k-images-idx3-ubyte.gz: corrupt gzip stream: incorrect data check"));
  }
}

TEST_CASE("find_data_dir: the given directory, else the environment, else the search list", "[data]") {
  TempDir a, b, empty;
  write_split(a, "t10k", {1});
  write_split(b, "t10k", {2});
  const std::string absent = (empty.path / "absent").string();

  SECTION("the search list: first directory that has both files wins") {
    data::DatasetSource source = data::mnist_source();
    source.env_var = "";
    source.search_dirs = {absent, empty.str(), a.str(), b.str()};
    CHECK(data::find_data_dir(source, data::Split::Test) == a.str());
    CHECK(labels_of(data::load_dataset(source, data::Split::Test).labels) == std::vector<std::int64_t>{1});
    // Given explicitly, a directory is used alone, and the error speaks of that argument.
    CHECK(data::find_data_dir(source, data::Split::Test, b.str()) == b.str());
    CHECK_THROWS_WITH(data::find_data_dir(source, data::Split::Test, empty.str()),
                      Contains("MNIST test set not found in " + empty.str() +
                               " (the data_dir argument): missing t10k-images-idx3-ubyte[.gz] and "
                               "t10k-labels-idx1-ubyte[.gz]") &&
                          Contains("only place looked at") && !Contains(a.str()) && !Contains("--data-dir") &&
                          !Contains("TAPEGRAD_DATA"));
    // Nothing found: every place with what it lacks, then how to get the data.
    CHECK_THROWS_WITH(data::find_data_dir(source, data::Split::Train),
                      Contains("MNIST train set not found. Looked in:") && Contains(absent + ": no such directory") &&
                          Contains(empty.str() + ": missing train-images-idx3-ubyte[.gz] and "
                                                 "train-labels-idx1-ubyte[.gz]") &&
                          Contains(a.str() + ": missing train-images") && Contains(b.str() + ": missing") &&
                          Contains("ossci-datasets.s3.amazonaws.com/mnist") && !Contains("--data-dir"));
  }
  SECTION("the environment variable, used alone, and overridden by a directory given explicitly") {
    data::DatasetSource source = data::mnist_source();
    source.search_dirs = {a.str()};
    {
      EnvGuard env("TAPEGRAD_DATA", b.str());
      CHECK(data::find_data_dir(source, data::Split::Test) == b.str());
      CHECK(data::find_data_dir(source, data::Split::Test, a.str()) == a.str());
      // Not consulted when a directory is given, even when the given one lacks the files.
      CHECK_THROWS_WITH(data::find_data_dir(source, data::Split::Test, empty.str()),
                        Contains(empty.str() + " (the data_dir argument)") && !Contains(b.str()));
    }
    {
      EnvGuard env("TAPEGRAD_DATA", empty.str());
      CHECK_THROWS_WITH(data::find_data_dir(source, data::Split::Test),
                        Contains(empty.str() + " ($TAPEGRAD_DATA): missing t10k-images-idx3-ubyte[.gz]") &&
                            !Contains(a.str()));
    }
    {
      EnvGuard env("TAPEGRAD_DATA", "");  // set but empty counts as unset
      CHECK(data::find_data_dir(source, data::Split::Test) == a.str());
    }
  }
  SECTION("MNIST's standard places: /usr/share/datasets, then the user's cache, nothing else") {
    EnvGuard xdg("XDG_CACHE_HOME", "");
    const std::vector<std::string> dirs = data::mnist_source().search_dirs;
    CHECK(data::mnist_source().env_var == "TAPEGRAD_DATA");
    REQUIRE(!dirs.empty());
    CHECK(dirs.front() == "/usr/share/datasets/mnist");
    if (const char* home = std::getenv("HOME"))
      CHECK(dirs == std::vector<std::string>{"/usr/share/datasets/mnist",
                                             (fs::path(home) / ".cache/tapegrad/mnist").lexically_normal().string()});
    for (const std::string& dir : dirs) CHECK(fs::path(dir).is_absolute());
    CHECK(std::set<std::string>(dirs.begin(), dirs.end()).size() == dirs.size());
    {
      EnvGuard cache("XDG_CACHE_HOME", "/tmp/xdg-cache");
      const std::vector<std::string> with_xdg = data::mnist_source().search_dirs;
      REQUIRE(with_xdg.size() >= 2);
      CHECK(with_xdg[1] == "/tmp/xdg-cache/tapegrad/mnist");
    }
  }
  SECTION("Fashion-MNIST: Debian's place, its own variable, apt-get in the error") {
    const data::DatasetSource fashion = data::fashion_mnist_source();
    REQUIRE(!fashion.search_dirs.empty());
    CHECK(fashion.search_dirs.front() == "/usr/share/datasets/fashion-mnist");
    CHECK(fashion.env_var == "TAPEGRAD_FASHION_DATA");
    EnvGuard env("TAPEGRAD_FASHION_DATA", empty.str());
    CHECK_THROWS_WITH(data::load_fashion_mnist("", data::Split::Train),
                      Contains("Fashion-MNIST train set not found") &&
                          Contains(empty.str() + " ($TAPEGRAD_FASHION_DATA)") &&
                          Contains("apt-get install dataset-fashion-mnist"));
    if (const char* home = std::getenv("HOME"))
      CHECK(fashion.search_dirs.back() ==
            (fs::path(home) / ".cache/tapegrad/fashion-mnist").lexically_normal().string());
  }
}

TEST_CASE("data_dir_flag reads --data-dir DIR and --data-dir=DIR", "[data]") {
  const char* none[] = {"prog", "--epochs", "3"};
  CHECK(data::data_dir_flag(3, none).empty());
  const char* separate[] = {"prog", "--data-dir", "/d/mnist", "--epochs", "3"};
  CHECK(data::data_dir_flag(5, separate) == "/d/mnist");
  const char* joined[] = {"prog", "--epochs", "3", "--data-dir=/e/mnist"};
  CHECK(data::data_dir_flag(4, joined) == "/e/mnist");
  const char* dangling[] = {"prog", "--data-dir"};
  CHECK_THROWS_WITH(data::data_dir_flag(2, dangling), Contains("--data-dir") && Contains("needs a directory"));
  const char* blank[] = {"prog", "--data-dir="};
  CHECK_THROWS_WITH(data::data_dir_flag(2, blank), Contains("--data-dir") && Contains("empty"));
}

// ---- dataset helpers ---------------------------------------------------------------


TEST_CASE("filter_labels, take and the label maps build the 0-vs-1 experiment", "[data]") {
  // Sample i is an image filled with the value i, so rows can be traced.
  const data::TensorDataset all{reshape(arange(6), {6, 1, 1, 1}), tensor_i64({3, 0, 1, 2, 1, 0}, {6})};

  const data::TensorDataset binary = data::filter_labels(all, {0, 1});
  CHECK(binary.size() == 4);
  CHECK(binary.images.shape() == Shape{4, 1, 1, 1});
  CHECK(binary.images.to_vector() == std::vector<double>{1, 2, 4, 5});  // original order kept
  CHECK(labels_of(binary.labels) == std::vector<std::int64_t>{0, 1, 1, 0});
  CHECK(data::filter_labels(all, {7}).size() == 0);

  const data::TensorDataset first = data::take(binary, 3);
  CHECK(first.images.to_vector() == std::vector<double>{1, 2, 4});
  CHECK(labels_of(first.labels) == std::vector<std::int64_t>{0, 1, 1});
  CHECK(data::take(binary, 1000).size() == 4);  // like x[:1000]
  CHECK(data::take(binary, 0).size() == 0);
  CHECK_THROWS_WITH(data::take(binary, -1), Contains("take") && Contains("-1"));

  // Binary NLL targets: a float column of the labels.
  const Tensor column = data::labels_to_column(binary.labels);
  CHECK(column.shape() == Shape{4, 1});
  CHECK(column.dtype() == kFloat32);
  CHECK(column.to_vector() == std::vector<double>{0, 1, 1, 0});
  CHECK(data::labels_to_column(binary.labels, kFloat64).dtype() == kFloat64);
  // Hinge targets: y*2-1 for {0,1}; any class can be the positive one.
  const Tensor signs = data::labels_to_signs(binary.labels);
  CHECK(signs.shape() == Shape{4, 1});
  CHECK(signs.to_vector() == std::vector<double>{-1, 1, 1, -1});
  CHECK(data::labels_to_signs(all.labels, 3).to_vector() == std::vector<double>{1, -1, -1, -1, -1, -1});
  // Class indices for nll_loss.
  CHECK(labels_of(data::relabel(tensor_i64({3, 8, 8, 3}, {4}), {3, 8})) == std::vector<std::int64_t>{0, 1, 1, 0});
  CHECK(labels_of(data::relabel(all.labels, {3, 2, 1, 0})) == std::vector<std::int64_t>{0, 3, 2, 1, 2, 3});

  CHECK_THROWS_WITH(data::relabel(all.labels, {0, 1}),
                    Contains("relabel: label 3 at index 0 is not one of the classes {0, 1}"));
  CHECK_THROWS_WITH(data::relabel(all.labels, {0, 1, 0}), Contains("relabel") && Contains("appears twice"));
  CHECK_THROWS_WITH(data::labels_to_signs(tensor({0, 1})), Contains("labels_to_signs") && Contains("int64"));
  // The constructor refuses tensors that do not pair up; so do the helpers when
  // the public members were changed afterwards.
  CHECK_THROWS_WITH(data::TensorDataset(ones({3, 2}), tensor_i64({0, 1}, {2})),
                    Contains("TensorDataset") && Contains("[3,2]") && Contains("[2]"));
  data::TensorDataset mismatched = all;
  mismatched.images = ones({3, 2});
  CHECK_THROWS_WITH(data::filter_labels(mismatched, {0}),
                    Contains("filter_labels") && Contains("[3,2]") && Contains("[6]"));
}

// ---- minibatches ----------------------------------------------------------------------

namespace {

// Runs one epoch; checks that every batch pairs inputs with their own targets
// (input row = 10 * target) and returns the targets in the order seen.
std::vector<std::int64_t> run_epoch(const data::BatchLoader& loader, std::int64_t epoch,
                                    std::vector<std::int64_t>* batch_sizes = nullptr) {
  std::vector<std::int64_t> seen;
  for (const data::Batch& b : loader.epoch(epoch)) {
    const std::vector<std::int64_t> t = labels_of(b.targets);
    const std::vector<double> x = b.inputs.to_vector();
    REQUIRE(b.inputs.shape() == Shape{static_cast<std::int64_t>(t.size()), 2});
    for (std::size_t i = 0; i < t.size(); ++i) {
      CHECK(x[2 * i] == 10.0 * t[i]);
      CHECK(x[2 * i + 1] == 10.0 * t[i] + 1);
    }
    if (batch_sizes) batch_sizes->push_back(static_cast<std::int64_t>(t.size()));
    seen.insert(seen.end(), t.begin(), t.end());
  }
  return seen;
}

// n samples: inputs [n,2] with row i = (10i, 10i+1), targets int64 i.
data::TensorDataset numbered(std::int64_t n) {
  std::vector<double> x;
  for (std::int64_t i = 0; i < n; ++i) x.insert(x.end(), {10.0 * i, 10.0 * i + 1});
  return {tensor(x, {n, 2}), tensor_i64(range(n), {n})};
}

}  // namespace

TEST_CASE("BatchLoader: every sample exactly once per epoch, in order without shuffle", "[data]") {
  const data::TensorDataset d = numbered(10);
  data::BatchLoader loader(d.images, d.labels, {3, /*shuffle=*/false});
  CHECK(loader.num_samples() == 10);
  CHECK(loader.num_batches() == 4);
  std::vector<std::int64_t> sizes;
  CHECK(run_epoch(loader, 0, &sizes) == range(10));
  CHECK(sizes == std::vector<std::int64_t>{3, 3, 3, 1});
  CHECK(run_epoch(loader, 5) == range(10));  // no shuffle: every epoch the same
  CHECK(loader.order(2) == range(10));

  const data::BatchLoader::Epoch epoch = loader.epoch(0);
  CHECK(epoch.size() == 4);
  CHECK(labels_of(epoch[3].targets) == std::vector<std::int64_t>{9});
  CHECK(std::distance(epoch.begin(), epoch.end()) == 4);
  CHECK_THROWS_WITH(epoch[4], Contains("BatchLoader: batch 4 is out of range") && Contains("4 batches"));

  SECTION("drop_last drops only the short tail") {
    data::BatchLoader dropping(d, {3, false, 0, /*drop_last=*/true});
    CHECK(dropping.num_batches() == 3);
    std::vector<std::int64_t> kept_sizes;
    CHECK(run_epoch(dropping, 0, &kept_sizes) == range(9));
    CHECK(kept_sizes == std::vector<std::int64_t>{3, 3, 3});
    // Nothing to drop when the batch size divides N.
    CHECK(data::BatchLoader(d, {5, false, 0, true}).num_batches() == 2);
    CHECK(run_epoch(data::BatchLoader(d, {5, false, 0, true}), 0) == range(10));
  }
  SECTION("a batch larger than the data set") {
    CHECK(run_epoch(data::BatchLoader(d, {64, false}), 0) == range(10));
    CHECK(data::BatchLoader(d, {64, false, 0, true}).num_batches() == 0);
    CHECK(run_epoch(data::BatchLoader(d, {64, false, 0, true}), 0).empty());
  }
}

TEST_CASE("BatchLoader: a seeded shuffle, new every epoch, reproducible", "[data]") {
  const data::TensorDataset d = numbered(100);
  const data::BatchLoader loader(d, {8, /*shuffle=*/true, /*seed=*/42});
  CHECK(loader.num_batches() == 13);

  std::vector<std::int64_t> sizes;
  const std::vector<std::int64_t> e0 = run_epoch(loader, 0, &sizes);
  const std::vector<std::int64_t> e1 = run_epoch(loader, 1);
  CHECK(sorted(e0) == range(100));  // each sample exactly once
  CHECK(sorted(e1) == range(100));
  CHECK(e0 != range(100));  // shuffled ...
  CHECK(e0 != e1);          // ... differently each epoch
  CHECK(sizes.back() == 4);
  CHECK(e0 == loader.order(0));  // batches follow order(epoch)
  CHECK(e1 == randperm(100, 42, 1));  // which is tg::randperm(N, seed, epoch)

  // Same seed and epoch: the same order, from a fresh loader too; another seed: another order.
  CHECK(run_epoch(loader, 0) == e0);
  CHECK(run_epoch(data::BatchLoader(d, {8, true, 42}), 1) == e1);
  CHECK(data::BatchLoader(d, {8, true, 43}).order(0) != e0);
  // The global generator plays no part.
  manual_seed(7);
  const std::vector<std::int64_t> before = loader.order(3);
  randn({10});
  manual_seed(8);
  CHECK(loader.order(3) == before);

  SECTION("drop_last with shuffle drops only the last samples of the epoch's order") {
    const data::BatchLoader dropping(d, {8, true, 42, true});
    std::vector<std::int64_t> kept_sizes;
    const std::vector<std::int64_t> kept = run_epoch(dropping, 0, &kept_sizes);
    CHECK(kept_sizes == std::vector<std::int64_t>(12, 8));
    CHECK(kept == std::vector<std::int64_t>(e0.begin(), e0.begin() + 96));
  }
}

TEST_CASE("BatchLoader refuses data and options that do not fit", "[data]") {
  CHECK_THROWS_WITH(data::BatchLoader(ones({10, 2}), tensor_i64(range(9), {9})),
                    Contains("BatchLoader") && Contains("[10,2]") && Contains("[9]") &&
                        Contains("different numbers of samples"));
  CHECK_THROWS_WITH(data::BatchLoader(ones({10, 2}), tensor_i64(range(10), {10}), {0}),
                    Contains("BatchLoader: batch_size must be positive, got 0"));
  CHECK_THROWS_WITH(data::BatchLoader(scalar_tensor(1.0), tensor_i64({1}, {1})), Contains("sample"));
  CHECK_THROWS_WITH(data::BatchLoader(Tensor(), Tensor()), Contains("BatchLoader") && Contains("defined"));
  const data::BatchLoader loader(ones({4, 2}), tensor_i64(range(4), {4}));
  CHECK_THROWS_WITH(loader.epoch(-1), Contains("epoch must be >= 0, got -1"));
}

// ---- the real data sets, when present ------------------------------------------

TEST_CASE("the real MNIST test set", "[data][mnist]") {
  // Wherever the library finds it: $TAPEGRAD_DATA (scripts/test.sh points it at
  // the copy CI lays beside the repository), else the standard places.
  std::string dir;
  try {
    dir = data::find_data_dir(data::mnist_source(), data::Split::Test);
  } catch (const std::invalid_argument& e) {
    WARN("skipped: " << e.what());
    return;
  }
  const data::TensorDataset test = data::load_mnist(dir, data::Split::Test);
  REQUIRE(test.images.shape() == Shape{10000, 1, 28, 28});
  REQUIRE(test.labels.shape() == Shape{10000});
  CHECK(labels_of(test.labels)[0] == 7);

  // The published class counts of the 10k test digits.
  std::vector<std::int64_t> histogram(10, 0);
  for (std::int64_t y : labels_of(test.labels)) histogram.at(static_cast<std::size_t>(y)) += 1;
  CHECK(histogram == std::vector<std::int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  CHECK(std::accumulate(histogram.begin(), histogram.end(), std::int64_t{0}) == 10000);

  const std::vector<float> pixels = test.images.to_vector<float>();
  const auto [lo, hi] = std::minmax_element(pixels.begin(), pixels.end());
  CHECK(*lo == 0.0f);
  CHECK(*hi == 1.0f);
  // The commonly quoted mean pixel of the MNIST test set.
  CHECK(mean(test.images).item() == Approx(0.1325).margin(5e-4));

  // The classic 0-vs-1 subset: the first 1000 zeros and ones of the test set.
  const data::TensorDataset binary = data::take(data::filter_labels(test, {0, 1}), 1000);
  CHECK(binary.size() == 1000);
  for (std::int64_t y : labels_of(binary.labels)) CHECK((y == 0 || y == 1));
}

TEST_CASE("the real Fashion-MNIST test set", "[data][mnist]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir)) {
    WARN("skipped: " << dir << " does not exist (apt-get install dataset-fashion-mnist)");
    return;
  }
  const data::TensorDataset test = data::load_fashion_mnist(dir, data::Split::Test);
  REQUIRE(test.images.shape() == Shape{10000, 1, 28, 28});
  CHECK(labels_of(test.labels)[0] == 9);  // an ankle boot
  std::vector<std::int64_t> histogram(10, 0);
  for (std::int64_t y : labels_of(test.labels)) histogram.at(static_cast<std::size_t>(y)) += 1;
  CHECK(histogram == std::vector<std::int64_t>(10, 1000));  // balanced: 1000 per class
  CHECK(max(test.images).item() == 1.0);
}
