// libFuzzer target: tg::load into a fixed model and into an SGD optimizer.
//
// The input (mode byte first, see fuzz_common.hpp) becomes a file that both
// loaders read by path. The contract under test: a load either succeeds —
// and the model and optimizer then train without trouble — or throws
// std::invalid_argument. Anything else — another exception type, a crash, a
// sanitizer finding, a hang, a huge allocation — is a bug.
#include <cstdint>
#include <stdexcept>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = fuzz::scratch_path("tapegrad_fuzz_checkpoint");
  static const auto model = fuzz::make_model();
  static const auto optimizer = fuzz::make_optimizer(*model);
  const fuzz::InputFile file(path, fuzz::checkpoint_file_from_input(data, size));

  bool loaded = false;
  try {
    tg::load(*model, file.path());
    loaded = true;
  } catch (const std::invalid_argument&) {
  }
  try {
    tg::load(*optimizer, file.path());
    loaded = true;
  } catch (const std::invalid_argument&) {
  }
  if (loaded) fuzz::train_step(*model, *optimizer);
  return 0;
}
