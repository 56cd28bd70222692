// The safetensors header: a strict JSON reader for its schema (RFC 8259 syntax:
// no comments, no trailing commas, no leading zeros, no lone surrogates, valid
// UTF-8), its writer, and the check of the data's byte ranges.
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"
#include "io/safetensors_header.hpp"
#include <tapegrad/core/shape.hpp>

namespace tg::io::detail {

using tg::detail::fail;

const char* file_dtype_name(FileDtype dtype) {
  switch (dtype) {
    case FileDtype::F32: return "F32";
    case FileDtype::F64: return "F64";
    case FileDtype::I64: return "I64";
    case FileDtype::F16: return "F16";
    case FileDtype::BF16: return "BF16";
  }
  return "?";
}

std::size_t file_element_size(FileDtype dtype) {
  switch (dtype) {
    case FileDtype::F64:
    case FileDtype::I64: return 8;
    case FileDtype::F32: return 4;
    case FileDtype::F16:
    case FileDtype::BF16: return 2;
  }
  return 0;
}

Dtype loaded_dtype(FileDtype dtype) {
  switch (dtype) {
    case FileDtype::F64: return kFloat64;
    case FileDtype::I64: return kInt64;
    default: return kFloat32;
  }
}

FileDtype file_dtype_of(Dtype dtype) {
  switch (dtype) {
    case Dtype::Float32: return FileDtype::F32;
    case Dtype::Float64: return FileDtype::F64;
    case Dtype::Int64: return FileDtype::I64;
  }
  return FileDtype::F32;
}

namespace {

// The dtypes of the format that tapegrad has no tensor type for.
constexpr const char* kUnsupportedDtypes[] = {"BOOL", "U8",      "I8",      "U16",     "I16",  "U32",
                                              "I32",  "U64",     "C64",     "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                              "F4",   "F6_E2M3", "F6_E3M2"};

// The byte offset of the first byte that is not part of valid UTF-8 (no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    std::uint32_t min;
    if ((c & 0xE0) == 0xC0) extra = 1, min = 0x80;
    else if ((c & 0xF0) == 0xE0) extra = 2, min = 0x800;
    else if ((c & 0xF8) == 0xF0) extra = 3, min = 0x10000;
    else return i;
    if (s.size() - i <= static_cast<std::size_t>(extra)) return i;
    std::uint32_t code = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) return i;
      code = code << 6 | (cont & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += 1 + extra;
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// A cursor over the header's JSON that reads exactly the tokens the schema
// allows at each point and refuses anything else, naming the byte.
class JsonReader {
 public:
  JsonReader(std::string_view text, const std::string& where) : text_(text), where_(where) {}

  [[noreturn]] void syntax_error(const std::string& what) const {
    fail(where_, ": the header is not valid JSON: ", what, " at byte ", pos_, " of the header");
  }
  [[noreturn]] void schema_error(const std::string& what) const {
    fail(where_, ": the header is not a safetensors header: ", what, " (at byte ", pos_, " of the header)");
  }

  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() {
    skip_whitespace();
    return pos_ == text_.size();
  }
  // The next significant character, or '\0' at the end.
  char peek() {
    skip_whitespace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* context) {
    if (consume(c)) return;
    if (pos_ == text_.size()) syntax_error(std::string("the text ends where '") + c + "' " + context + " should be");
    syntax_error(std::string("expected '") + c + "' " + context + ", found " + describe_here());
  }

  std::string string(const char* context) {
    if (peek() != '"') {
      if (pos_ == text_.size()) syntax_error(std::string("the text ends where ") + context + " should be");
      syntax_error(std::string("expected ") + context + " (a string), found " + describe_here());
    }
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) syntax_error("a string is never closed");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) syntax_error("a control character inside a string must be escaped");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (++pos_ >= text_.size()) syntax_error("a string is never closed");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t code = hex4();
          if (code >= 0xDC00 && code <= 0xDFFF) syntax_error("a lone low surrogate \\u escape");
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") syntax_error("a high surrogate \\u escape without its low surrogate");
            pos_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) syntax_error("a high surrogate \\u escape without its low surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: --pos_; syntax_error(std::string("an unknown escape '\\") + e + "'");
      }
    }
  }

  // A JSON number that is a non-negative integer within uint64: "0" or
  // [1-9][0-9]*. A sign, fraction or exponent is refused by `context`.
  std::uint64_t unsigned_integer(const std::string& context) {
    const char first = peek();
    if (first < '0' || first > '9') {
      if (first == '-') schema_error(context + " must not be negative");
      if (pos_ == text_.size()) syntax_error("the text ends where " + context + " should be");
      schema_error(context + " must be a non-negative integer, found " + describe_here());
    }
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
        schema_error(context + " does not fit in 64 bits");
      value = value * 10 + digit;
      ++pos_;
    }
    if (text_[start] == '0' && pos_ - start > 1) {
      pos_ = start;
      syntax_error("a number with a leading zero");
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
      schema_error(context + " must be an integer, without a fraction or exponent");
    return value;
  }

  std::size_t position() const { return pos_; }

 private:
  std::uint32_t hex4() {
    if (text_.size() - pos_ < 4) syntax_error("a \\u escape needs four hex digits");
    std::uint32_t code = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = text_[pos_];
      int digit;
      if (h >= '0' && h <= '9') digit = h - '0';
      else if (h >= 'a' && h <= 'f') digit = h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') digit = h - 'A' + 10;
      else syntax_error("a \\u escape needs four hex digits");
      code = code << 4 | static_cast<std::uint32_t>(digit);
      ++pos_;
    }
    return code;
  }
  // "'x'" for the character at the cursor, or "the end of the text".
  std::string describe_here() const {
    if (pos_ >= text_.size()) return "the end of the text";
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    return tg::detail::cat("byte 0x", std::hex, static_cast<int>(c));
  }

  std::string_view text_;
  const std::string& where_;
  std::size_t pos_ = 0;
};

FileDtype parse_dtype(JsonReader& json, const std::string& name) {
  const std::string dtype = json.string("a dtype");
  if (dtype == "F32") return FileDtype::F32;
  if (dtype == "F64") return FileDtype::F64;
  if (dtype == "I64") return FileDtype::I64;
  if (dtype == "F16") return FileDtype::F16;
  if (dtype == "BF16") return FileDtype::BF16;
  for (const char* known : kUnsupportedDtypes)
    if (dtype == known)
      json.schema_error("tensor '" + name + "' has dtype " + dtype +
                        ", which tapegrad does not read (it reads F32, F64 and I64, and converts F16 and BF16 to float32)");
  json.schema_error("tensor '" + name + "' has an unknown dtype '" + dtype + "'");
}

// {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, each key once.
HeaderEntry parse_entry(JsonReader& json, std::string name) {
  HeaderEntry entry;
  entry.name = std::move(name);
  const std::string& n = entry.name;
  json.expect('{', ("to open tensor '" + n + "'").c_str());
  bool has_dtype = false, has_shape = false, has_offsets = false;
  if (!json.consume('}')) {
    do {
      const std::string key = json.string("a key");
      json.expect(':', "after a key");
      auto once = [&](bool& seen) {
        if (seen) json.schema_error("tensor '" + n + "' has \"" + key + "\" twice");
        seen = true;
      };
      if (key == "dtype") {
        once(has_dtype);
        entry.dtype = parse_dtype(json, n);
      } else if (key == "shape") {
        once(has_shape);
        json.expect('[', "to open a shape");
        if (!json.consume(']')) {
          do {
            if (entry.shape.size() == Shape::kMaxDims)
              json.schema_error("tensor '" + n + "' has more than " + std::to_string(Shape::kMaxDims) +
                                " dimensions, the most a tapegrad tensor has");
            const std::uint64_t extent = json.unsigned_integer("an extent of tensor '" + n + "'");
            if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
              json.schema_error("an extent of tensor '" + n + "' is larger than 2^63-1");
            entry.shape.push_back(static_cast<std::int64_t>(extent));
          } while (json.consume(','));
          json.expect(']', "or ',' in a shape");
        }
      } else if (key == "data_offsets") {
        once(has_offsets);
        json.expect('[', "to open data_offsets");
        entry.begin = json.unsigned_integer("the begin offset of tensor '" + n + "'");
        json.expect(',', "between the two data_offsets");
        entry.end = json.unsigned_integer("the end offset of tensor '" + n + "'");
        if (json.peek() == ',') json.schema_error("tensor '" + n + "' has more than two data_offsets");
        json.expect(']', "after the two data_offsets");
      } else {
        json.schema_error("tensor '" + n + "' has an unknown key \"" + key +
                          "\" (expected \"dtype\", \"shape\" and \"data_offsets\")");
      }
    } while (json.consume(','));
    json.expect('}', ("or ',' in tensor '" + n + "'").c_str());
  }
  const char* lacking = !has_dtype ? "dtype" : !has_shape ? "shape" : !has_offsets ? "data_offsets" : nullptr;
  if (lacking) json.schema_error("tensor '" + n + "' has no \"" + lacking + "\"");
  return entry;
}

void parse_metadata(JsonReader& json, Metadata& metadata) {
  json.expect('{', "to open __metadata__ (an object of strings)");
  if (json.consume('}')) return;
  do {
    std::string key = json.string("a metadata key");
    json.expect(':', "after a key");
    if (json.peek() != '"') json.schema_error("the value of metadata key '" + key + "' is not a string");
    std::string value = json.string("a metadata value");
    if (!metadata.emplace(key, std::move(value)).second)
      json.schema_error("the metadata has key '" + key + "' twice");
  } while (json.consume(','));
  json.expect('}', "or ',' in __metadata__");
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += tg::detail::cat("\\u00", "0123456789abcdef"[u >> 4], "0123456789abcdef"[u & 15]);
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

Header parse_header(std::string_view text, const std::string& where, std::uint64_t max_tensors) {
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    fail(where, ": the header is not valid UTF-8 (byte ", bad, " of the header)");
  JsonReader json(text, where);
  if (json.peek() != '{') json.schema_error("it must be a JSON object, starting with '{'");
  json.expect('{', "");
  Header header;
  bool has_metadata = false;
  std::unordered_set<std::string> names;
  if (!json.consume('}')) {
    do {
      std::string key = json.string("a tensor name");
      json.expect(':', "after a key");
      if (key == "__metadata__") {
        if (has_metadata) json.schema_error("__metadata__ appears twice");
        has_metadata = true;
        parse_metadata(json, header.metadata);
        continue;
      }
      if (!names.insert(key).second) json.schema_error("tensor '" + key + "' appears twice");
      if (header.tensors.size() >= max_tensors)
        fail(where, " holds more than ", max_tensors, " tensors ", tg::detail::raise_limit_advice("max_checkpoint_tensors"));
      header.tensors.push_back(parse_entry(json, std::move(key)));
    } while (json.consume(','));
    json.expect('}', "or ',' between tensors");
  }
  if (!json.at_end()) json.syntax_error("text after the end of the header's object");
  return header;
}

std::vector<std::size_t> check_data_layout(const Header& header, std::uint64_t data_size, const std::string& where) {
  const auto& tensors = header.tensors;
  for (const HeaderEntry& t : tensors) {
    const std::string shape = tg::detail::extents_str(t.shape);
    if (const char* problem = tg::detail::shape_size_problem(t.shape))
      fail(where, ": tensor '", t.name, "' has shape ", shape, ", which ", problem);
    const auto numel = static_cast<std::uint64_t>(Shape(t.shape).numel());
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, file_element_size(t.dtype), &bytes))
      fail(where, ": tensor '", t.name, "' (", file_dtype_name(t.dtype), " ", shape, ") needs more than 2^64 bytes");
    if (t.end < t.begin)
      fail(where, ": tensor '", t.name, "' has data_offsets [", t.begin, ", ", t.end, "] that end before they begin");
    if (t.end - t.begin != bytes)
      fail(where, ": tensor '", t.name, "' has data_offsets [", t.begin, ", ", t.end, "], ", t.end - t.begin,
           " bytes, but ", file_dtype_name(t.dtype), " ", shape, " takes ", bytes);
    if (t.end > data_size)
      fail(where, ": tensor '", t.name, "' has data_offsets [", t.begin, ", ", t.end,
           "] outside the data, which holds ", data_size, " bytes (is the file truncated?)");
  }
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return tensors[a].begin != tensors[b].begin ? tensors[a].begin < tensors[b].begin : tensors[a].end < tensors[b].end;
  });
  // The format requires the ranges to tile the data: each starts where the previous one ended.
  std::uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const std::size_t i : order) {
    const HeaderEntry& t = tensors[i];
    if (t.begin < covered)
      fail(where, ": the data of tensors '", previous->name, "' [", previous->begin, ", ", previous->end, "] and '",
           t.name, "' [", t.begin, ", ", t.end, "] overlap");
    if (t.begin > covered)
      fail(where, ": bytes [", covered, ", ", t.begin, ") of the data belong to no tensor (a hole before tensor '",
           t.name, "')");
    covered = t.end;
    previous = &t;
  }
  if (covered != data_size)
    fail(where, ": the last ", data_size - covered, " bytes of the data (from byte ", covered,
         ") belong to no tensor");
  return order;
}

std::string header_json(const Header& header) {
  std::string json = "{";
  if (!header.metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : header.metadata) {
      if (!first) json += ',';
      first = false;
      append_json_string(json, key);
      json += ':';
      append_json_string(json, value);
    }
    json += '}';
  }
  for (const HeaderEntry& t : header.tensors) {
    if (json.size() > 1) json += ',';
    append_json_string(json, t.name);
    json += ":{\"dtype\":\"";
    json += file_dtype_name(t.dtype);
    json += "\",\"shape\":[";
    for (std::size_t d = 0; d < t.shape.size(); ++d) json += (d ? "," : "") + std::to_string(t.shape[d]);
    json += "],\"data_offsets\":[" + std::to_string(t.begin) + "," + std::to_string(t.end) + "]}";
  }
  json += '}';
  // The reference implementation pads with spaces so the data is 8-byte aligned.
  while ((8 + json.size()) % 8 != 0) json += ' ';
  return json;
}

}  // namespace tg::io::detail
