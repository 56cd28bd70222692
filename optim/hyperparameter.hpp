// Private: the one check every optimizer and scheduler hyper-parameter goes through.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>

namespace tg::optim {

/// Refuses NaN, negative and infinite values, naming the owner and the parameter:
/// "SGD: momentum must be >= 0, got nan", "StepLR: gamma must be finite, got inf".
inline void check_nonnegative(const std::string& owner, const char* what, double value) {
  if (!(value >= 0)) detail::fail(owner, ": ", what, " must be >= 0, got ", value);
  if (std::isinf(value)) detail::fail(owner, ": ", what, " must be finite, got ", value);
}

/// RAII: grad mode on for its lifetime (closures evaluated inside an optimizer's NoGradGuard).
class RecordingGuard {
 public:
  RecordingGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~RecordingGuard() { GradMode::set_enabled(prev_); }
  RecordingGuard(const RecordingGuard&) = delete;
  RecordingGuard& operator=(const RecordingGuard&) = delete;

 private:
  bool prev_;
};

/// `defaults` with group g's overrides applied through `setters` (name -> setter);
/// an unknown name is refused, naming the optimizer, the group and the known names.
template <class Options>
Options with_overrides(const std::string& owner, const Options& defaults, const std::map<std::string, double>& overrides,
                       const std::map<std::string, void (*)(Options&, double, const std::string&)>& setters) {
  Options o = defaults;
  for (const auto& [name, value] : overrides) {
    const auto it = setters.find(name);
    if (it == setters.end()) {
      std::string known;
      for (const auto& s : setters) known += (known.empty() ? "" : ", ") + s.first;
      detail::fail(owner, ": unknown option '", name, "' (options: ", known, ")");
    }
    it->second(o, value, owner);
  }
  return o;
}

/// A boolean option given as a number in a ParamGroup: 0 or 1 only.
inline bool as_flag(const std::string& owner, const char* what, double value) {
  if (value != 0 && value != 1) detail::fail(owner, ": option '", what, "' is a flag (0 or 1), got ", value);
  return value == 1;
}

}  // namespace tg::optim
