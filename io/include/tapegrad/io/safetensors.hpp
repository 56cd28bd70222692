// tapegrad — safetensors files: models that move between tapegrad and PyTorch
// (and anything else that reads the format: Hugging Face, JAX, candle).
//
// @code
//   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Linear>(4, 3));
//   std::string path = (std::filesystem::temp_directory_path() / "model.safetensors").string();
//   tg::io::save_safetensors(*model, path);          // PyTorch layout: "0.weight" is [3,4]
//   tg::io::LoadReport report = tg::io::load_safetensors(*model, path);
// @endcode
//
// In Python, with nothing but PyTorch installed (json and struct, no safetensors
// package): see README "Moving models"; with the safetensors package,
// `model.load_state_dict(safetensors.torch.load_file(path))`.
//
// Format (https://github.com/huggingface/safetensors): a little-endian u64 N, N
// bytes of JSON, then the data. The JSON maps each tensor's name to
//   {"dtype": "F32", "shape": [3, 4], "data_offsets": [begin, end]}
// (byte offsets into the data, which follows the header) and may hold
// "__metadata__", an object of strings. The tensors cover the data exactly,
// without holes or overlaps. tapegrad writes float32 ("F32"), float64 ("F64")
// and int64 ("I64"); it reads those and converts float16 ("F16") and bfloat16
// ("BF16") to float32.
//
// Names are those of nn::Module::named_parameters and named_buffers, which are
// PyTorch's state_dict names for the same model ("features.0.weight"). The one
// layout difference: nn::Linear keeps its weight as [in, out], PyTorch as
// [out, in]. The metadata key "tapegrad.layout" says which a file holds:
// "pytorch" (the default when saving, and what a file without the key is taken
// to hold) or "tapegrad". Linear weights are found by their module's type, not
// by their names, and transposed on the way out and in.
//
// Reading checks the whole header before allocating anything: the header's
// size (tg::ReadLimits::max_safetensors_header_bytes, 100 MB), strict JSON,
// known dtypes, shapes whose sizes do not overflow, offsets that match each
// dtype and shape and cover the data exactly, unique names, and the number of
// tensors and bytes of data (max_checkpoint_tensors, max_checkpoint_bytes). A
// bad file is refused with std::invalid_argument naming the function, the file
// and, where there is one, the tensor. Writing is atomic
// (tg::train::write_file_atomically): a failed save leaves the previous file;
// its failures are std::runtime_error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::nn {
class Module;
}

/// @namespace tg::io
/// Model files other frameworks read and write: safetensors (PyTorch's names and layout).

namespace tg::io {

/// (name, tensor) pairs in file order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// The "__metadata__" of a safetensors file: string keys to string values.
using Metadata = std::map<std::string, std::string>;

/// The metadata key naming the layout of nn::Linear weights in a file.
inline constexpr const char* kLayoutKey = "tapegrad.layout";

/// How nn::Linear weights are laid out in a file.
enum class Layout {
  PyTorch,  ///< [out_features, in_features], PyTorch's nn.Linear; metadata "pytorch"
  Tapegrad  ///< [in_features, out_features], tapegrad's nn::Linear; metadata "tapegrad"
};

/// Options of save_safetensors.
struct SaveSafetensorsOptions {
  /// PyTorch layout lets `model.load_state_dict` take the file as it is.
  Layout layout = Layout::PyTorch;
  /// Written into "__metadata__" next to "tapegrad.layout" (which it may not
  /// hold) and, for PyTorch layout, "format": "pt" (as Hugging Face expects).
  Metadata metadata;
};

/// Options of load_safetensors.
struct LoadSafetensorsOptions {
  /// Refuse the file unless its tensors and the model's match one to one
  /// (PyTorch's strict=True); otherwise load what matches and report the rest.
  bool strict = true;
  /// Overrides the file's "tapegrad.layout"; unset: the file's, PyTorch when absent.
  std::optional<Layout> layout;
  /// What the file may make tapegrad allocate.
  ReadLimits limits = read_limits();
};

/// A tensor present in the file and the model whose shape or dtype does not fit.
struct Mismatch {
  std::string name;
  std::string in_file;   ///< "[3,4] float32"
  std::string expected;  ///< what the model needs in the file's layout, "[4,3] float32"
};

/// What load_safetensors did, like the result of PyTorch's load_state_dict.
struct LoadReport {
  std::vector<std::string> loaded;      ///< names copied into the model
  std::vector<std::string> missing;     ///< the model's tensors the file lacks (left as they were)
  std::vector<std::string> unexpected;  ///< the file's tensors the model lacks (ignored)
  std::vector<Mismatch> mismatched;     ///< in both, but of another shape or dtype (left as they were)
  /// True when every tensor of the model was loaded and the file had nothing else.
  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

/// The contents of a safetensors file.
struct SafetensorsFile {
  NamedTensors tensors;  ///< in the order of their data in the file
  Metadata metadata;
  /// The tensor called `name`; throws std::invalid_argument naming the names there are.
  const Tensor& at(const std::string& name) const;
};

/// Writes `tensors` (float32, float64 or int64; names unique, not empty, not
/// "__metadata__") and `metadata` to `path`, atomically. The header is padded
/// with spaces so that the data starts at a multiple of 8 bytes.
void write_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

/// Reads and checks a whole file (see the top of this file); F16 and BF16 become float32.
SafetensorsFile read_safetensors(const std::string& path, const ReadLimits& limits = read_limits());

/// Writes `module`'s named_parameters() then named_buffers() to `path`, Linear
/// weights in `options.layout`, atomically.
void save_safetensors(const nn::Module& module, const std::string& path, const SaveSafetensorsOptions& options = {});

/// Reads `path` into `module`'s parameters and buffers. Every check is made
/// before anything changes, so a refused file leaves the module as it was.
/// strict: throws std::invalid_argument listing every missing, unexpected and
/// mismatched tensor; otherwise loads the tensors that fit and reports the rest.
/// Float tensors are converted to the model's float dtype (as PyTorch's
/// copy_ does); int64 loads only into int64. Loaded tensors get new values in
/// place (their handles stay; Tensor::version() rises).
LoadReport load_safetensors(nn::Module& module, const std::string& path, const LoadSafetensorsOptions& options = {});

}  // namespace tg::io
