// libFuzzer target: tg::data::read_csv on arbitrary files, plain and gzip.
//
// The first input byte picks the options (bit 0: the harness gzips the rest;
// bit 1: a header line; bit 2: the last column is the target; bit 3: the first
// column is categorical, one-hot; bit 4: ';' as the delimiter; bit 5: one
// skipped line); the rest is the file, which the real reader opens by path.
// The contract: read_csv returns a table whose shapes agree with each other, or
// throws std::invalid_argument. Anything else — another exception type, a
// crash, a sanitizer finding, a hang, a huge allocation — is a bug.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include <tapegrad/data/csv.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::string path = fuzz::scratch_path("tapegrad_fuzz_csv");
  const std::uint8_t mode = data[0];
  const fuzz::Bytes text(reinterpret_cast<const char*>(data + 1), size - 1);
  const fuzz::InputFile file(path, (mode & 1) ? fuzz::gzip(text) : text);

  tg::data::CsvOptions options;
  options.has_header = (mode & 2) != 0;
  if (mode & 4) options.target = -1;
  if (mode & 8) options.categorical = {0};
  options.delimiter = (mode & 16) ? ';' : ',';
  options.skip_rows = (mode & 32) ? 1 : 0;
  options.max_bytes = 1 << 20;  // the harness's inputs are small; keep every table small too
  try {
    const tg::data::CsvData table = tg::data::read_csv(file.path(), options);
    // Accepted: one row of features (and a target) per data row, one name per feature.
    const tg::Tensor& x = table.features;
    if (!x.defined() || x.dim() != 2) std::abort();
    if (static_cast<std::size_t>(x.size(1)) != table.feature_names.size()) std::abort();
    if (table.targets.defined()) {
      if (table.targets.dim() != 1 || table.targets.size(0) != x.size(0)) std::abort();
      for (const std::int64_t c : table.targets.to_vector<std::int64_t>())
        if (c < 0 || c >= static_cast<std::int64_t>(table.classes.size())) std::abort();
    }
  } catch (const std::invalid_argument&) {
    // A refusal, as documented.
  }
  return 0;
}
