// libFuzzer target: tg::data::read_idx on arbitrary files, plain and gzip.
//
// The input (mode byte first, see fuzz_common.hpp) becomes a file that the
// real reader opens by path, so the file-path code (stat, size check, gzip
// detection, zlib) is what gets fuzzed. The contract under test: read_idx
// either returns an array that matches its header or throws
// std::invalid_argument; and a file it accepts also goes through
// load_idx_images or load_idx_labels (by its number of dimensions), which
// must build the tensor or refuse the same way. Anything else — another exception type, a crash, a
// sanitizer finding, a hang, a huge allocation — is a bug.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/mnist.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = fuzz::scratch_path("tapegrad_fuzz_idx");
  const fuzz::InputFile file(path, fuzz::idx_file_from_input(data, size));
  try {
    const tg::data::IdxArray array = tg::data::read_idx(file.path());
    // Accepted: the data must be exactly what the header describes.
    std::uint64_t numel = 1;
    for (const std::int64_t d : array.dims) numel *= static_cast<std::uint64_t>(d);
    if (array.dims.empty() || numel != array.data.size()) std::abort();
    if (array.dims.size() == 3 && tg::data::load_idx_images(file.path()).numel() != static_cast<std::int64_t>(numel))
      std::abort();
    if (array.dims.size() == 1 && tg::data::load_idx_labels(file.path()).numel() != static_cast<std::int64_t>(numel))
      std::abort();
  } catch (const std::invalid_argument&) {
    // A refusal, as documented.
  }
  return 0;
}
