#include "io/protobuf_writer.hpp"

#include <cstdint>
#include <cstring>

namespace tg::io::detail {

void ProtoWriter::varint(std::uint64_t value) {
  // Seven bits at a time, least significant first; the high bit says "more follows".
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void ProtoWriter::int_field(int field, std::int64_t value) {
  key(field, 0);
  varint(static_cast<std::uint64_t>(value));
}

void ProtoWriter::float_field(int field, float value) {
  key(field, 5);
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  for (int shift = 0; shift < 32; shift += 8) out_.push_back(static_cast<char>((bits >> shift) & 0xff));
}

void ProtoWriter::bytes_field(int field, std::string_view bytes) {
  key(field, 2);
  varint(bytes.size());
  out_.append(bytes.data(), bytes.size());
}

}  // namespace tg::io::detail
