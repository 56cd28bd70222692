// tapegrad — checkpoints: save and load a module's tensors or an optimizer's state.
//
// @code
//   auto model = std::make_shared<tg::nn::Linear>(3, 2);
//   tg::optim::Adam optimizer(model->parameters(), tg::optim::AdamOptions(1e-3));
//   std::string dir = std::filesystem::temp_directory_path().string();
//   tg::save(*model, dir + "/model.tgc");      tg::load(*model, dir + "/model.tgc");
//   tg::save(optimizer, dir + "/optim.tgc");   tg::load(optimizer, dir + "/optim.tgc");
// @endcode
//
// Saving writes a temporary file in the same directory, flushes and fsyncs it,
// then renames it over `path` (and fsyncs the directory; see
// tg::train::write_file_atomically in <tapegrad/train/atomic_file.hpp>): a crash during a save
// leaves the previous checkpoint intact. A process killed mid-save may leave its
// temporary file, `<path>.tmp.XXXXXX`, behind: it is never read, and later saves
// (which pick a new unique name) do not depend on it. Loading checks the whole
// file and that every tensor fits before anything in the model or optimizer
// changes.
//
// File format, version 1. All integers little-endian.
//
//   Header, 32 bytes
//     offset  size  field
//      0       8    magic, the ASCII bytes "TAPEGRAD"
//      8       4    u32 format version (1); files from a newer version are refused
//     12       4    u32 reserved, 0
//     16       8    u64 payload size in bytes (the rest of the file)
//     24       4    u32 CRC-32 (zlib's crc32) of the payload
//     28       4    u32 reserved, 0
//   Payload
//     u16 kind length, then the kind in ASCII: "module" or "optimizer:<name>" (e.g. "optimizer:SGD")
//     u32 number of tensors
//     per tensor, in order:
//       u16 name length (1..4096), then the name in UTF-8 ("features.0.weight", "exp_avg.3")
//       u8  dtype: 0 float32, 1 float64, 2 int64
//       u8  number of dimensions (0..8)
//       i64 extent of each dimension (>= 0; the non-zero extents multiply to at most 2^63-1)
//       the elements, row-major, little-endian (numel * 4 or 8 bytes)
//
// A module's file holds named_parameters() then named_buffers(). An
// optimizer's holds its state_dict() (see <tapegrad/optim/optimizer.hpp>).
//
// Refusals (std::invalid_argument, naming the file and, where there is one,
// the tensor): a file that cannot be opened, a wrong magic, a newer or unknown
// version, a non-zero reserved field, a truncated file or trailing bytes, a
// checksum mismatch, a malformed record, a file of the wrong kind, a tensor the
// model lacks or one the file lacks, a dtype or shape that differs, more tensors
// or bytes than tg::ReadLimits allows (<tapegrad/core/read_limits.hpp>). Sizes read
// from the file are checked against the bytes actually present before anything
// is allocated. Failures to write (disk full, permissions) throw std::runtime_error
// naming the file and the system error; the previous file is then untouched.
#pragma once

#include <memory>
#include <string>

#include <tapegrad/core/read_limits.hpp>

namespace tg {

namespace nn {
class Module;
}
namespace optim {
class Optimizer;
class LRScheduler;
class ReduceLROnPlateau;
}

/// Writes every parameter and buffer of `module` (by path) to `path`, atomically.
void save(const nn::Module& module, const std::string& path);
/// Reads `path` into `module`'s parameters and buffers; the names, dtypes and
/// shapes must match exactly. On any refusal the module is left unchanged.
/// A file holding more than `limits.max_checkpoint_tensors` tensors or
/// `limits.max_checkpoint_bytes` bytes of data is refused before they are
/// allocated (see <tapegrad/core/read_limits.hpp>).
void load(nn::Module& module, const std::string& path, const ReadLimits& limits = read_limits());

/// Writes the optimizer's state (learning rate, step counts, moment buffers).
void save(const optim::Optimizer& optimizer, const std::string& path);
/// Restores state saved from an optimizer of the same type over parameters of
/// the same shapes. On any refusal the optimizer is left unchanged. `limits` as
/// for a module.
void load(optim::Optimizer& optimizer, const std::string& path, const ReadLimits& limits = read_limits());

/// Writes a learning-rate scheduler's state (epoch count, base lrs; ReduceLROnPlateau:
/// best metric and counters) as kind "scheduler:<name>". The lrs themselves are in the
/// optimizer's file.
///@{
void save(const optim::LRScheduler& scheduler, const std::string& path);
void save(const optim::ReduceLROnPlateau& scheduler, const std::string& path);
///@}
/// Restores state saved from a scheduler of the same type; on any refusal it is left unchanged.
///@{
void load(optim::LRScheduler& scheduler, const std::string& path, const ReadLimits& limits = read_limits());
void load(optim::ReduceLROnPlateau& scheduler, const std::string& path, const ReadLimits& limits = read_limits());
///@}

/// Conveniences for the shared_ptrs modules usually live in: save / load `*object`.
///@{
template <class T> void save(const std::shared_ptr<T>& object, const std::string& path) { save(*object, path); }
template <class T>
void load(const std::shared_ptr<T>& object, const std::string& path, const ReadLimits& limits = read_limits()) {
  load(*object, path, limits);
}
///@}

}  // namespace tg
