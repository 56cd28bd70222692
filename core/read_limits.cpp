// The process-wide ReadLimits, behind a mutex: a copy is taken per read.
#include <mutex>

#include "core/read_limits_message.hpp"
#include <tapegrad/core/read_limits.hpp>

namespace tg {
namespace {

std::mutex& limits_mutex() {
  static std::mutex m;
  return m;
}
ReadLimits& current_limits() {
  static ReadLimits limits;
  return limits;
}

}  // namespace

ReadLimits read_limits() {
  std::lock_guard<std::mutex> lock(limits_mutex());
  return current_limits();
}

void set_read_limits(const ReadLimits& limits) {
  std::lock_guard<std::mutex> lock(limits_mutex());
  current_limits() = limits;
}

namespace detail {

std::string raise_limit_advice(const char* field) {
  return std::string("(the limit tg::ReadLimits::") + field +
         "); raise it, with tg::set_read_limits or per call, if the file is genuine";
}

}  // namespace detail
}  // namespace tg
