// safetensors files: reading and writing named tensors (the format is in
// <tapegrad/io/safetensors.hpp>; the header in io/safetensors_header.cpp), and
// saving / loading a module's parameters and buffers with PyTorch's layout.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"
#include "core/tensor_impl.hpp"
#include "io/safetensors_header.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/io/safetensors.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/train/atomic_file.hpp>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian, as in memory");

namespace tg::io {

using tg::detail::fail;

namespace {

constexpr std::size_t kLengthBytes = 8;

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// ---- reading ------------------------------------------------------------------------

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  std::uint32_t bits;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    std::memcpy(&bits, &magnitude, 4);
    bits |= sign;
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | mantissa << 13;  // infinity or NaN (payload kept)
  } else {
    bits = sign | (exponent + 112) << 23 | mantissa << 13;  // rebias 15 -> 127
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Reads one tensor's bytes from `in` (positioned at them) into a new tensor.
Tensor read_tensor(std::ifstream& in, const detail::HeaderEntry& entry, const std::string& where) {
  Tensor t = tg::detail::make_tensor(Shape(entry.shape), detail::loaded_dtype(entry.dtype));
  const std::uint64_t bytes = entry.end - entry.begin;
  auto read = [&](void* into) {
    in.read(static_cast<char*>(into), static_cast<std::streamsize>(bytes));
    if (!in) fail(where, ": cannot read the data of tensor '", entry.name, "' (did the file change while being read?)");
  };
  if (entry.dtype != detail::FileDtype::F16 && entry.dtype != detail::FileDtype::BF16) {
    if (bytes > 0) read(t.raw_data());
    return t;
  }
  std::vector<std::uint16_t> halves(static_cast<std::size_t>(t.numel()));
  if (bytes > 0) read(halves.data());
  float* out = t.data<float>();
  const bool bf16 = entry.dtype == detail::FileDtype::BF16;
  for (std::size_t i = 0; i < halves.size(); ++i) out[i] = bf16 ? bfloat16_to_float(halves[i]) : half_to_float(halves[i]);
  return t;
}

SafetensorsFile read_file(const std::string& path, const ReadLimits& limits, const char* function) {
  const std::string where = std::string(function) + ": " + quoted(path);
  // A FIFO or a device would block or never end: only regular files are read.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    fail(where, " is not a regular file (a pipe, a device or a directory cannot hold a safetensors file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(function, ": cannot open ", quoted(path), ": ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0) fail(function, ": cannot read the size of ", quoted(path));
  const auto size = static_cast<std::uint64_t>(end);
  if (size < kLengthBytes)
    fail(where, " is truncated: ", size, " bytes, but a safetensors file starts with an 8-byte header length");

  unsigned char length_bytes[kLengthBytes];
  in.read(reinterpret_cast<char*>(length_bytes), kLengthBytes);
  if (!in) fail(function, ": cannot read the header of ", quoted(path));
  if (std::memcmp(length_bytes, "TAPEGRAD", kLengthBytes) == 0)
    fail(where, " is a tapegrad checkpoint, not a safetensors file; read it with tg::load");
  std::uint64_t header_size = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) header_size |= std::uint64_t{length_bytes[i]} << (8 * i);
  if (header_size > size - kLengthBytes)
    fail(where, " is truncated or not a safetensors file: its first 8 bytes announce a header of ", header_size,
         " bytes, but only ", size - kLengthBytes, " follow");
  if (header_size > limits.max_safetensors_header_bytes)
    fail(where, " has a header of ", header_size, " bytes, more than ", limits.max_safetensors_header_bytes, " ",
         tg::detail::raise_limit_advice("max_safetensors_header_bytes"));
  const std::uint64_t data_size = size - kLengthBytes - header_size;
  if (data_size > limits.max_checkpoint_bytes)
    fail(where, " holds ", data_size, " bytes of data, more than ", limits.max_checkpoint_bytes, " ",
         tg::detail::raise_limit_advice("max_checkpoint_bytes"));

  // header_size is at most the bytes on disk, so this allocation is bounded by the file.
  std::string json(static_cast<std::size_t>(header_size), '\0');
  in.read(json.data(), static_cast<std::streamsize>(header_size));
  if (!in) fail(function, ": cannot read the header of ", quoted(path), " (did the file change while being read?)");
  detail::Header header = detail::parse_header(json, where, limits.max_checkpoint_tensors);
  // Every range is checked against the data's size before any tensor is allocated.
  const std::vector<std::size_t> order = detail::check_data_layout(header, data_size, where);

  SafetensorsFile file;
  file.metadata = std::move(header.metadata);
  file.tensors.reserve(order.size());
  // In data order, so the stream never seeks back (the ranges tile the data).
  for (const std::size_t i : order) {
    detail::HeaderEntry& entry = header.tensors[i];
    Tensor t = read_tensor(in, entry, where);
    file.tensors.emplace_back(std::move(entry.name), std::move(t));
  }
  return file;
}

// ---- modules --------------------------------------------------------------------------

const char* layout_name(Layout layout) { return layout == Layout::PyTorch ? "pytorch" : "tapegrad"; }

// The weights of the module's nn::Linear layers, found by the layers' type.
std::unordered_set<const void*> linear_weights(const nn::Module& module) {
  std::unordered_set<const void*> ids;
  for (const auto& [path, m] : module.named_modules())
    if (const auto* linear = dynamic_cast<const nn::Linear*>(m)) ids.insert(linear->weight.id());
  return ids;
}

// One tensor of the model as it is in a file: its name, the model's tensor, and
// whether the file holds it transposed (a Linear weight in PyTorch layout).
struct ModuleTensor {
  std::string name;
  Tensor tensor;
  bool transposed = false;
};

std::vector<ModuleTensor> module_tensors(const nn::Module& module, Layout layout) {
  const std::unordered_set<const void*> linear = linear_weights(module);
  std::vector<ModuleTensor> out;
  for (auto named : {module.named_parameters(), module.named_buffers()})
    for (auto& [name, t] : named)
      out.push_back({name, t, layout == Layout::PyTorch && t.dim() == 2 && linear.count(t.id()) > 0});
  return out;
}

Shape transposed_shape(const Shape& s) { return Shape({s[1], s[0]}); }

std::string describe(const Shape& shape, Dtype dtype) { return shape.str() + " " + dtype_name(dtype); }

// The file's tensor can be copied into the model's: same shape (in the file's
// layout), and floats into floats or int64 into int64.
bool fits(const Tensor& in_file, const ModuleTensor& wanted) {
  const Shape expected = wanted.transposed ? transposed_shape(wanted.tensor.shape()) : wanted.tensor.shape();
  return in_file.shape() == expected && is_floating(in_file.dtype()) == is_floating(wanted.tensor.dtype());
}

Layout file_layout(const SafetensorsFile& file, const LoadSafetensorsOptions& options, const std::string& where) {
  if (options.layout) return *options.layout;
  const auto it = file.metadata.find(kLayoutKey);
  if (it == file.metadata.end() || it->second == "pytorch") return Layout::PyTorch;
  if (it->second == "tapegrad") return Layout::Tapegrad;
  fail(where, ": metadata \"", kLayoutKey, "\" is '", it->second, "', expected 'pytorch' or 'tapegrad'");
}

// "'a', 'b' and 3 more" — keeps the message of a wholly wrong file readable.
template <class Items, class Describe>
std::string listing(const Items& items, Describe&& describe_one, const char* separator = ", ") {
  constexpr std::size_t kShown = 8;
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? separator : "") + describe_one(items[i]);
  if (items.size() > kShown) out += " and " + std::to_string(items.size() - kShown) + " more";
  return out;
}

std::string refusal(const LoadReport& report, const std::string& where, const nn::Module& module, Layout layout) {
  std::string message = where + " does not fit the model (" + module.type_name() + "), read in " +
                        layout_name(layout) + " layout:";
  auto name = [](const std::string& n) { return "'" + n + "'"; };
  if (!report.missing.empty())
    message += " the file lacks " + listing(report.missing, name) + ", which the model needs;";
  if (!report.unexpected.empty())
    message += " the model does not have " + listing(report.unexpected, name) + ";";
  if (!report.mismatched.empty())
    message += " " +
               listing(
                   report.mismatched,
                   [](const Mismatch& m) {
                     return "'" + m.name + "' is " + m.in_file + " in the file, but the model needs " + m.expected;
                   },
                   "; ") +
               ";";
  message.back() = '.';
  return message + " Nothing was loaded (load non-strictly to load the tensors that fit).";
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  fail("SafetensorsFile::at: no tensor '", name, "'; the file holds ",
       listing(tensors, [](const auto& named) { return "'" + named.first + "'"; }));
}

void write_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  const std::string where = "write_safetensors: " + quoted(path);
  detail::Header header;
  header.metadata = metadata;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    tg::detail::check_defined(t, "write_safetensors");
    if (name.empty() || name == "__metadata__") fail(where, ": a tensor may not be called '", name, "'");
    if (!names.insert(name).second) fail(where, ": two tensors are called '", name, "'");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * element_size(t.dtype());
    header.tensors.push_back({name, detail::file_dtype_of(t.dtype()), std::vector<std::int64_t>(t.shape().begin(), t.shape().end()),
                              offset, offset + bytes});
    offset += bytes;
  }
  std::string json = detail::header_json(header);
  // What we write must read back: a name or metadata that is not UTF-8 would not.
  detail::parse_header(json, where, std::numeric_limits<std::uint64_t>::max());

  std::string file;
  file.reserve(kLengthBytes + json.size() + offset);
  for (std::size_t i = 0; i < kLengthBytes; ++i) file += static_cast<char>(std::uint64_t{json.size()} >> (8 * i));
  file += json;
  for (const auto& [name, t] : tensors)
    file.append(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  train::write_file_atomically(path, file, {/*create_directories*/ false, /*context*/ "write_safetensors"});
}

SafetensorsFile read_safetensors(const std::string& path, const ReadLimits& limits) {
  return read_file(path, limits, "read_safetensors");
}

void save_safetensors(const nn::Module& module, const std::string& path, const SaveSafetensorsOptions& options) {
  if (options.metadata.count(kLayoutKey))
    fail("save_safetensors: ", quoted(path), ": the metadata may not set \"", kLayoutKey,
         "\"; choose the layout with SaveSafetensorsOptions::layout");
  Metadata metadata = options.metadata;
  metadata[kLayoutKey] = layout_name(options.layout);
  // Hugging Face's loaders refuse PyTorch weights whose metadata lacks it.
  if (options.layout == Layout::PyTorch) metadata.emplace("format", "pt");
  NamedTensors tensors;
  NoGradGuard no_grad;
  for (const ModuleTensor& m : module_tensors(module, options.layout))
    tensors.emplace_back(m.name, m.transposed ? transpose(m.tensor.detach(), 0, 1) : m.tensor.detach());
  write_safetensors(path, tensors, metadata);
}

LoadReport load_safetensors(nn::Module& module, const std::string& path, const LoadSafetensorsOptions& options) {
  const std::string where = "load_safetensors: " + quoted(path);
  const SafetensorsFile file = read_file(path, options.limits, "load_safetensors");
  const Layout layout = file_layout(file, options, where);
  std::unordered_map<std::string, const Tensor*> stored;
  for (const auto& [name, t] : file.tensors) stored.emplace(name, &t);

  // Everything is decided before anything changes, so a refused file leaves the model as it was.
  LoadReport report;
  std::vector<std::pair<const ModuleTensor*, const Tensor*>> to_copy;
  const std::vector<ModuleTensor> wanted = module_tensors(module, layout);
  std::unordered_set<std::string> model_names;
  for (const ModuleTensor& m : wanted) {
    model_names.insert(m.name);
    const auto it = stored.find(m.name);
    if (it == stored.end()) {
      report.missing.push_back(m.name);
    } else if (!fits(*it->second, m)) {
      const Shape expected = m.transposed ? transposed_shape(m.tensor.shape()) : m.tensor.shape();
      std::string need = describe(expected, m.tensor.dtype());
      if (m.transposed) need += " (the Linear weight " + m.tensor.shape().str() + " transposed)";
      report.mismatched.push_back({m.name, describe(it->second->shape(), it->second->dtype()), need});
    } else {
      to_copy.emplace_back(&m, it->second);
    }
  }
  for (const auto& [name, t] : file.tensors)
    if (!model_names.count(name)) report.unexpected.push_back(name);
  if (options.strict && !report.complete()) fail(refusal(report, where, module, layout));

  NoGradGuard no_grad;
  for (auto& [m, src] : to_copy) {
    Tensor target = m->tensor;
    target.copy_(m->transposed ? transpose(*src, 0, 1) : *src);
    report.loaded.push_back(m->name);
  }
  return report;
}

}  // namespace tg::io
