// Shared by the fuzz targets and the seed generator: how an input is turned
// into a file for the reader, and the fixed model and optimizer that
// checkpoints and safetensors files are loaded into.
//
// The first byte of every fuzz input is a mode byte that says how the rest
// becomes the file on disk. Both readers guard their data with checksums
// (gzip's CRC-32, the checkpoint header's CRC-32); a mutation almost never
// keeps a checksum right, so without these modes the fuzzer would spend its
// time on checksum refusals and never reach the parsing behind them.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <tapegrad/tapegrad.hpp>

namespace fuzz {

using Bytes = std::string;

// ---- IDX ----------------------------------------------------------------------------
// Low two bits of the mode byte; the upper six bits are a count n (0..63).
enum IdxMode : std::uint8_t {
  kIdxRaw = 0,          // the bytes as they are (plain IDX, or a gzip file from the corpus)
  kIdxGzip = 1,         // gzip-compressed by the harness: a valid stream around fuzzed IDX bytes
  kIdxGzipCut = 2,      // compressed, then the last n bytes cut off (a truncated download)
  kIdxGzipTrailing = 3  // compressed, then n junk bytes (copied from the start of the input) appended
};
inline std::uint8_t idx_mode_byte(IdxMode mode, unsigned n = 0) {
  return static_cast<std::uint8_t>((n & 63u) << 2 | mode);
}

/// `bytes` as one gzip member (zlib's deflate with a gzip wrapper).
inline Bytes gzip(const Bytes& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  Bytes out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// The file that fuzz_idx hands to read_idx for `input` (mode byte first).
inline Bytes idx_file_from_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  const std::uint8_t mode = data[0] & 3u;
  const std::size_t n = data[0] >> 2;
  Bytes rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode == kIdxRaw) return rest;
  Bytes file = gzip(rest);
  if (mode == kIdxGzipCut) file.resize(file.size() - std::min(n, file.size()));
  if (mode == kIdxGzipTrailing) file += rest.substr(0, n);
  return file;
}

// ---- checkpoints ----------------------------------------------------------------------
// Bit 0 of the mode byte: 1 = the harness rewrites the header's payload size
// (offset 16, u64) and CRC-32 (offset 24, u32) to match the payload, so that
// mutations of the payload reach the record parser; 0 = the bytes as they are,
// so the header checks themselves are fuzzed too.
enum CheckpointMode : std::uint8_t { kCheckpointRaw = 0, kCheckpointFixHeader = 1 };
constexpr std::size_t kCheckpointHeaderSize = 32;

inline Bytes checkpoint_file_from_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  Bytes file(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1u) == kCheckpointFixHeader && file.size() >= kCheckpointHeaderSize) {
    const std::uint64_t payload_size = file.size() - kCheckpointHeaderSize;
    const auto* payload = reinterpret_cast<const Bytef*>(file.data() + kCheckpointHeaderSize);
    const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), payload, static_cast<uInt>(payload_size)));
    for (int i = 0; i < 8; ++i) file[16 + i] = static_cast<char>(payload_size >> (8 * i));
    for (int i = 0; i < 4; ++i) file[24 + i] = static_cast<char>(crc >> (8 * i));
  }
  return file;
}

// ---- safetensors ---------------------------------------------------------------------
// Bit 0 of the mode byte: 1 = the harness brings the header length (the first
// 8 bytes, u64) within the file — the stored value modulo (bytes after it + 1),
// which keeps a right length right — so that mutations that grow or shrink the
// JSON still reach its parser; 0 = the bytes as they are.
enum SafetensorsMode : std::uint8_t { kSafetensorsRaw = 0, kSafetensorsFitLength = 1 };

inline Bytes safetensors_file_from_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  Bytes file(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1u) == kSafetensorsFitLength && file.size() >= 8) {
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= std::uint64_t{static_cast<unsigned char>(file[i])} << (8 * i);
    length %= file.size() - 8 + 1;
    for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(length >> (8 * i));
  }
  return file;
}

/// The model every checkpoint and safetensors file is loaded into: parameters "0.weight" [3,4],
/// "0.bias" [3], "2.weight" [2,3], "2.bias" [2].
inline std::shared_ptr<tg::nn::Sequential> make_model() {
  return std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Linear>(4, 3), std::make_shared<tg::nn::ReLU>(),
                                              std::make_shared<tg::nn::Linear>(3, 2));
}
/// SGD with momentum over `model`, so that its state has momentum buffers.
inline std::unique_ptr<tg::optim::SGD> make_optimizer(const tg::nn::Module& model) {
  return std::make_unique<tg::optim::SGD>(model.parameters(), tg::optim::SGDOptions(0.1).momentum(0.9));
}
/// One training step: uses every parameter and every optimizer buffer, so a
/// loaded state that does not fit shows up as a sanitizer finding.
inline void train_step(tg::nn::Module& model, tg::optim::Optimizer& optimizer) {
  optimizer.zero_grad();
  tg::sum(model(tg::ones({2, 4}))).backward();
  optimizer.step();
}

// ---- files ----------------------------------------------------------------------------

/// A file of this process for the readers to open, in /dev/shm when there is
/// one (a memory file system: no disk I/O per input).
inline std::string scratch_path(const std::string& stem) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  return (dir / (stem + "." + std::to_string(::getpid()))).string();
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  if (std::fclose(f) != 0) std::abort();
}

/// The file one fuzz input is read from: written on construction, removed on
/// destruction, so that no file outlives its input (libFuzzer may end with _Exit,
/// and crash minimisation runs many processes: exit handlers would leave files behind).
class InputFile {
 public:
  InputFile(const std::string& path, const Bytes& bytes) : path_(path) { write_file(path_, bytes); }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fuzz
