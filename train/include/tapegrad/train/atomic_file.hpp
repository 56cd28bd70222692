// tapegrad — replacing a file atomically: a reader (or a crash) sees the old
// contents or the new ones, never a mix. Checkpoints (tg::save) and the
// metrics files (<tapegrad/train/metrics.hpp>) are written this way.
//
// @code
//   auto path = std::filesystem::temp_directory_path() / "tapegrad_example" / "runs" / "a" / "summary.txt";
//   tg::train::write_file_atomically(path, "accuracy 0.98\n", {/*create_directories*/ true});
// @endcode
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tg::train {

/// Options of write_file_atomically.
struct AtomicWriteOptions {
  /// Create missing parent directories first; otherwise a missing directory is an error.
  bool create_directories = false;
  /// What error messages start with (tg::save passes "save").
  std::string context = "write_file_atomically";
};

/// Writes `contents` to `path`, replacing any file there, so that a crash or an
/// error at any moment leaves either the previous file or the complete new one.
///
/// The bytes go to a new temporary file `<path>.tmp.XXXXXX` in the same
/// directory (mode 0644), which is flushed and fsync'ed, then renamed over
/// `path`; the directory is fsync'ed last so the rename itself survives a power
/// loss. On failure the temporary file is removed and `path` is untouched. A
/// process killed mid-write may leave its temporary file behind; later writes
/// pick new names and never read it. When `path` is a symlink, the file it
/// points to is the one replaced (in its own directory); the link stays.
///
/// Throws std::invalid_argument when `path` names no file (empty, or ending in
/// a separator), std::runtime_error "<context>: cannot <step> '<file>': <system
/// error>" when a directory cannot be created or a step fails (disk full,
/// permissions, a missing directory without create_directories).
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           const AtomicWriteOptions& options = {});

/// Checks now that write_file_atomically(path, ..., options) could write `path`,
/// by doing its first steps: creating missing directories (with
/// create_directories) and creating, then removing, a temporary file next to
/// the file. A training program calls it for every output before its first
/// step, so that an unwritable path fails in a second rather than after hours
/// of training. Also refuses a `path` that is a directory. Throws what
/// write_file_atomically throws for the same steps ("<context>: cannot create a
/// temporary file next to '<file>': <system error>").
///
/// @code
///   auto out = std::filesystem::temp_directory_path() / "tapegrad_example" / "run" / "model.tgc";
///   tg::train::check_writable(out, {/*create_directories*/ true, "--save"});   // before training
/// @endcode
void check_writable(const std::filesystem::path& path, const AtomicWriteOptions& options = {});

}  // namespace tg::train
