// write_file_atomically: temporary file, fsync, rename, fsync of the directory.
#include <tapegrad/train/atomic_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tg::train {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void io_failure(const AtomicWriteOptions& o, const std::string& what, const std::string& path,
                             int err) {
  throw std::runtime_error(o.context + ": cannot " + what + " '" + path + "': " + std::strerror(err));
}

void write_all(int fd, std::string_view bytes, const AtomicWriteOptions& o, const std::string& path) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_failure(o, "write", path, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Where a write to `requested` really goes: the file a symlink points to (as an
// ordinary write would), not a new file put in place of the link.
fs::path resolve_symlinks(const fs::path& requested) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(requested, ec))) return requested;
  const fs::path target = fs::weakly_canonical(requested, ec);
  return ec || target.empty() ? requested : target;
}

// The checks and set-up both write_file_atomically and check_writable do: the
// file really written (symlinks followed), a file name, its directory (created
// when asked), and a new temporary file next to it, open for writing.
struct TemporaryFile {
  fs::path target;  // where the data goes, symlinks resolved
  std::string name;
  int fd = -1;
};

TemporaryFile create_temporary_next_to(const fs::path& requested, const AtomicWriteOptions& options) {
  TemporaryFile t;
  t.target = resolve_symlinks(requested);
  if (t.target.empty() || !t.target.has_filename())
    throw std::invalid_argument(options.context + ": '" + t.target.string() + "' is not a file name");
  const fs::path dir = t.target.parent_path();
  if (options.create_directories && !dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) io_failure(options, "create the directory", dir.string(), ec.value());
  }
  // Next to the target, so that rename() stays within one file system.
  t.name = t.target.string() + ".tmp.XXXXXX";
  t.fd = ::mkstemp(t.name.data());
  if (t.fd < 0) io_failure(options, "create a temporary file next to", t.target.string(), errno);
  return t;
}

}  // namespace

void check_writable(const fs::path& requested, const AtomicWriteOptions& options) {
  const TemporaryFile t = create_temporary_next_to(requested, options);
  ::close(t.fd);
  ::unlink(t.name.c_str());
  // rename() cannot replace a directory; say so now rather than after the work.
  std::error_code ec;
  if (fs::is_directory(t.target, ec)) io_failure(options, "replace", t.target.string(), EISDIR);
}

void write_file_atomically(const fs::path& requested, std::string_view contents, const AtomicWriteOptions& options) {
  const TemporaryFile t = create_temporary_next_to(requested, options);
  const fs::path& path = t.target;
  const fs::path dir = path.parent_path();
  const std::string& tmp = t.name;
  const int fd = t.fd;
  try {
    if (::fchmod(fd, 0644) != 0) io_failure(options, "set permissions of", tmp, errno);
    write_all(fd, contents, options, tmp);
    if (::fsync(fd) != 0) io_failure(options, "fsync", tmp, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_failure(options, "close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_failure(options, "rename the temporary file to", path.string(), err);
  }
  // Make the rename itself durable.
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace tg::train
