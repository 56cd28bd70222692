// libFuzzer target: tg::io::read_safetensors, and load_safetensors into a fixed
// model (strict and not).
//
// The input (mode byte first, see fuzz_common.hpp) becomes a file read by path.
// The contract under test: a read or load either succeeds — and the model then
// trains without trouble — or throws std::invalid_argument. Anything else —
// another exception type, a crash, a sanitizer finding, a hang, a huge
// allocation — is a bug.
#include <cstdint>
#include <stdexcept>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = fuzz::scratch_path("tapegrad_fuzz_safetensors");
  static const auto model = fuzz::make_model();
  static const auto optimizer = fuzz::make_optimizer(*model);
  const fuzz::InputFile file(path, fuzz::safetensors_file_from_input(data, size));

  try {
    tg::io::read_safetensors(file.path());
  } catch (const std::invalid_argument&) {
  }
  bool loaded = false;
  for (const bool strict : {true, false}) {
    try {
      tg::io::LoadSafetensorsOptions options;
      options.strict = strict;
      loaded |= !tg::io::load_safetensors(*model, file.path(), options).loaded.empty();
    } catch (const std::invalid_argument&) {
    }
  }
  if (loaded) fuzz::train_step(*model, *optimizer);
  return 0;
}
