// Private: access to the global generator for code inside tapegrad
// (dropout, initialisers). Lock generator_mutex() while drawing.
#pragma once

#include <mutex>
#include <random>

namespace tg::detail {
std::mt19937_64& generator();
std::mutex& generator_mutex();
}  // namespace tg::detail
