// Private: the JSON text of metric values, shared by the run-summary JSON
// (metrics.cpp) and the metrics logger's JSON lines (metrics_logger.cpp), so
// that numbers and strings are written one way in every metrics file.
#pragma once

#include <string>

#include <tapegrad/train/metrics.hpp>

namespace tg::detail {

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
std::string json_string(const std::string& s);

/// A number as train::number_text writes it (NaN and infinities as null), an
/// integer, an escaped string, or true / false.
std::string json_value(const train::MetricValue& v);

/// The row as a one-line JSON object, `{"a":1, "b":"x"}`, keys in row order.
/// Throws std::invalid_argument "<context>: key "<key>" appears twice".
std::string json_object(const train::MetricsRow& row, const std::string& context);

}  // namespace tg::detail
