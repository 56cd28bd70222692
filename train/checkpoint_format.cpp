// The checkpoint file format (see <tapegrad/train/serialize.hpp> for the layout):
// serialising named tensors into a payload, the CRC-32'd header (written with
// train::write_file_atomically), and a reader that validates every size against the bytes present.
#include <filesystem>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"
#include "core/tensor_impl.hpp"
#include "train/checkpoint_format.hpp"
#include <tapegrad/train/atomic_file.hpp>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the checkpoint format stores tensor data little-endian as in memory");

namespace tg::detail {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kHeaderSize = 32;
constexpr std::size_t kMaxNameLength = 4096;
constexpr std::size_t kMaxKindLength = 256;

// ---- writing ----------------------------------------------------------------------

void put_bytes(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
template <class T> void put(std::string& out, T v) {
  unsigned char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * i));
  put_bytes(out, bytes, sizeof(T));
}

std::uint8_t dtype_code(Dtype d) {
  switch (d) {
    case Dtype::Float32: return 0;
    case Dtype::Float64: return 1;
    case Dtype::Int64: return 2;
  }
  return 255;
}

std::string build_payload(const std::string& path, const std::string& kind, const NamedTensorList& tensors) {
  std::string payload;
  put<std::uint16_t>(payload, static_cast<std::uint16_t>(kind.size()));
  put_bytes(payload, kind.data(), kind.size());
  put<std::uint32_t>(payload, static_cast<std::uint32_t>(tensors.size()));
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name.size() > kMaxNameLength)
      fail("save: '", path, "': tensor name '", name, "' must have 1 to ", kMaxNameLength, " bytes");
    check_defined(t, "save");
    put<std::uint16_t>(payload, static_cast<std::uint16_t>(name.size()));
    put_bytes(payload, name.data(), name.size());
    put<std::uint8_t>(payload, dtype_code(t.dtype()));
    put<std::uint8_t>(payload, static_cast<std::uint8_t>(t.dim()));
    for (std::int64_t extent : t.shape()) put<std::int64_t>(payload, extent);
    put_bytes(payload, t.raw_data(), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  }
  return payload;
}

// ---- reading ------------------------------------------------------------------------

// A cursor over the payload that refuses to read past its end.
class Reader {
 public:
  Reader(const std::string& data, const std::string& path) : data_(data), path_(path) {}

  template <class T> T get(const char* what) {
    need(sizeof(T), what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string get_string(std::size_t n, const char* what) {
    need(n, what);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  const char* take(std::size_t n, const char* what) {
    need(n, what);
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::size_t remaining() const { return data_.size() - pos_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > remaining())
      fail("load: '", path_, "' is malformed: ", what, " needs ", n, " bytes but only ", remaining(), " remain");
  }
  const std::string& data_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

std::uint32_t crc_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    left -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

void write_checkpoint(const std::string& path, const std::string& kind, const NamedTensorList& tensors) {
  if (kind.size() > kMaxKindLength) fail("save: '", path, "': kind '", kind, "' is too long");
  const std::string payload = build_payload(path, kind, tensors);
  std::string file;
  put_bytes(file, kMagic, sizeof kMagic);
  put<std::uint32_t>(file, kFormatVersion);
  put<std::uint32_t>(file, 0);
  put<std::uint64_t>(file, payload.size());
  put<std::uint32_t>(file, crc_of(payload));
  put<std::uint32_t>(file, 0);
  file += payload;

  train::write_file_atomically(path, file, {/*create_directories*/ false, /*context*/ "save"});
}

CheckpointContents read_checkpoint(const std::string& path, const ReadLimits& limits) {
  // A FIFO or a device would block or never end: only regular files are read.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    fail("load: '", path, "' is not a regular file (a pipe, a device or a directory cannot hold a checkpoint)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load: cannot open '", path, "': ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff file_size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (file_size < 0) fail("load: cannot read the size of '", path, "'");
  const auto size = static_cast<std::uint64_t>(file_size);
  if (size < kHeaderSize)
    fail("load: '", path, "' is truncated: ", size, " bytes, but the header alone is ", kHeaderSize);

  std::string header(kHeaderSize, '\0');
  in.read(header.data(), kHeaderSize);
  if (!in) fail("load: cannot read the header of '", path, "'");
  if (std::memcmp(header.data(), kMagic, sizeof kMagic) != 0)
    fail("load: '", path, "' is not a tapegrad checkpoint (wrong magic; expected \"TAPEGRAD\")");
  Reader h(header, path);
  h.take(sizeof kMagic, "magic");
  const auto version = h.get<std::uint32_t>("version");
  const auto reserved1 = h.get<std::uint32_t>("reserved");
  const auto payload_size = h.get<std::uint64_t>("payload size");
  const auto crc = h.get<std::uint32_t>("checksum");
  const auto reserved2 = h.get<std::uint32_t>("reserved");
  if (version > kFormatVersion)
    fail("load: '", path, "' has format version ", version, ", written by a newer tapegrad; this build reads up to version ",
         kFormatVersion);
  if (version == 0) fail("load: '", path, "' has an invalid format version 0");
  if (reserved1 != 0 || reserved2 != 0) fail("load: '", path, "' has a corrupt header (reserved fields are not zero)");
  const std::uint64_t present = size - kHeaderSize;
  if (payload_size > present)
    fail("load: '", path, "' is truncated: the header announces ", payload_size, " bytes of data, but only ", present,
         " follow");
  if (payload_size < present)
    fail("load: '", path, "' has ", present - payload_size, " unexpected bytes after its data");

  if (payload_size > limits.max_checkpoint_bytes)
    fail("load: '", path, "' holds ", payload_size, " bytes of data, more than ", limits.max_checkpoint_bytes, " ",
         raise_limit_advice("max_checkpoint_bytes"));

  // payload_size now equals the bytes on disk, so this allocation is bounded by the file.
  std::string payload(static_cast<std::size_t>(payload_size), '\0');
  in.read(payload.data(), static_cast<std::streamsize>(payload_size));
  if (!in) fail("load: cannot read '", path, "' (it changed while being read?)");
  if (crc_of(payload) != crc)
    fail("load: '", path, "' is corrupt: checksum mismatch (stored CRC-32 ", crc, ", computed ", crc_of(payload), ")");

  CheckpointContents contents;
  Reader r(payload, path);
  const auto kind_length = r.get<std::uint16_t>("kind length");
  if (kind_length > kMaxKindLength) fail("load: '", path, "' is malformed: kind length ", kind_length);
  contents.kind = r.get_string(kind_length, "kind");
  const auto count = r.get<std::uint32_t>("tensor count");
  // Before any tensor is made: millions of tiny tensors cost far more memory
  // and time than their bytes in the file.
  if (count > limits.max_checkpoint_tensors)
    fail("load: '", path, "' holds ", count, " tensors, more than ", limits.max_checkpoint_tensors, " ",
         raise_limit_advice("max_checkpoint_tensors"));
  std::unordered_set<std::string> names;
  for (std::uint32_t k = 0; k < count; ++k) {
    const auto name_length = r.get<std::uint16_t>("tensor name length");
    if (name_length == 0 || name_length > kMaxNameLength)
      fail("load: '", path, "' is malformed: tensor ", k, " has a name of ", name_length, " bytes");
    std::string name = r.get_string(name_length, "tensor name");
    if (!names.insert(name).second) fail("load: '", path, "' holds tensor '", name, "' twice");
    const auto code = r.get<std::uint8_t>("dtype");
    if (code > 2) fail("load: '", path, "': tensor '", name, "' has unknown dtype code ", int(code));
    const Dtype dtype = code == 0 ? kFloat32 : code == 1 ? kFloat64 : kInt64;
    const auto ndim = r.get<std::uint8_t>("number of dimensions");
    if (ndim > Shape::kMaxDims)
      fail("load: '", path, "': tensor '", name, "' has ", int(ndim), " dimensions (at most ", Shape::kMaxDims, ")");
    // The extents are checked here before they become a Shape, so that the
    // messages name the file and the tensor.
    std::vector<std::int64_t> shape;
    // numel * element size must fit in what remains: check each extent against that bound,
    // so the product never overflows and never exceeds the file.
    const std::uint64_t budget = r.remaining() / element_size(dtype);
    std::uint64_t numel = 1;
    for (int d = 0; d < ndim; ++d) {
      const auto extent = r.get<std::int64_t>("tensor extent");
      if (extent < 0) fail("load: '", path, "': tensor '", name, "' has a negative extent ", extent);
      shape.push_back(extent);
      const auto e = static_cast<std::uint64_t>(extent);
      if (e != 0 && numel > budget / e) numel = budget + 1;  // saturate: too large for the file
      else numel *= e;
    }
    if (numel > r.remaining() / element_size(dtype))
      fail("load: '", path, "' is malformed: tensor '", name, "' of shape ", extents_str(shape), " needs more bytes than the ",
           r.remaining(), " that remain");
    // A zero extent empties the tensor whatever the others are, but the shape must
    // still be one a tensor can have: its other extents must multiply to at most
    // 2^63-1, or Shape::numel and strides overflow ([2^40, 2^40, 0]).
    std::uint64_t nonzero_product = 1;
    for (const std::int64_t extent : shape) {
      if (extent == 0) continue;
      const auto e = static_cast<std::uint64_t>(extent);
      if (nonzero_product > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / e)
        fail("load: '", path, "' is malformed: tensor '", name, "' has shape ", extents_str(shape),
             ", whose extents multiply beyond 2^63-1");
      nonzero_product *= e;
    }
    const std::size_t bytes = static_cast<std::size_t>(numel) * element_size(dtype);
    const char* src = r.take(bytes, "tensor data");
    Tensor t = make_tensor(Shape(shape), dtype);
    if (bytes > 0) std::memcpy(t.raw_data(), src, bytes);
    contents.tensors.emplace_back(std::move(name), std::move(t));
  }
  if (r.remaining() != 0)
    fail("load: '", path, "' is malformed: ", r.remaining(), " bytes after the last tensor");
  return contents;
}

}  // namespace tg::detail
