#include <tapegrad/version.hpp>

namespace tg {
const char* version() { return TAPEGRAD_VERSION_STRING; }
}  // namespace tg
