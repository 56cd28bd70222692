// Assertions shared by the test files.
#pragma once

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>
#include <zlib.h>

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

/// One gzip member (RFC 1952) holding `raw`, made by zlib in memory.
inline std::vector<std::uint8_t> gzip(const std::vector<std::uint8_t>& raw, int level = Z_DEFAULT_COMPRESSION) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&s, raw.size()));
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  REQUIRE(out.size() >= 18);
  REQUIRE((out[0] == 0x1f && out[1] == 0x8b));
  return out;
}

/// A PNG chunk: its length, type, data and the CRC-32 of type and data.
inline std::vector<std::uint8_t> png_chunk(const std::string& type, const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(data.size() >> shift));
  std::vector<std::uint8_t> body(type.begin(), type.end());
  body.insert(body.end(), data.begin(), data.end());
  const auto crc = static_cast<std::uint32_t>(crc32(0L, body.data(), static_cast<uInt>(body.size())));
  out.insert(out.end(), body.begin(), body.end());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(crc >> shift));
  return out;
}

/// A PNG file: its signature, a valid IHDR chunk declaring a width x height
/// 8-bit gray image, then `chunks` (made by png_chunk). Without chunks it holds
/// no pixel data: a small file that declares a huge image, or a broken one.
inline std::vector<std::uint8_t> png_file(std::uint32_t width, std::uint32_t height,
                                          const std::vector<std::vector<std::uint8_t>>& chunks = {}) {
  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<std::uint8_t> header;
  for (std::uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<std::uint8_t>(v >> shift));
  header.insert(header.end(), {8, 0, 0, 0, 0});  // depth 8, gray, deflate, no filter, no interlace
  std::vector<std::vector<std::uint8_t>> all = {png_chunk("IHDR", header)};
  all.insert(all.end(), chunks.begin(), chunks.end());
  for (const std::vector<std::uint8_t>& chunk : all) out.insert(out.end(), chunk.begin(), chunk.end());
  return out;
}

/// Writes `bytes` as the whole file at `path`.
inline void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

/// 0, 1, ..., n-1.
inline std::vector<std::int64_t> range(std::int64_t n) {
  std::vector<std::int64_t> r(static_cast<std::size_t>(n));
  std::iota(r.begin(), r.end(), std::int64_t{0});
  return r;
}

/// v in ascending order.
inline std::vector<std::int64_t> sorted(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// The whole file's bytes ("" when it cannot be read).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Replaces the file at `path` with `bytes`.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The whole file as text ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tg::testing
