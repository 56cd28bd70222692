// Private: the write side of protocol buffers' wire format, enough for ONNX
// files (io/onnx.cpp). A message is a sequence of fields, each a varint key
// (field number << 3 | wire type) then its value: a varint (wire type 0: int32,
// int64, enum; a negative number takes 10 bytes, two's complement) or a varint
// length then that many bytes (wire type 2: string, bytes, an embedded
// message), or four little-endian bytes (wire type 5: float, BatchNormalization's
// epsilon). Writers emit fields in field-number order, as protobuf's own
// serializers do, so that a file is byte-for-byte what the reference
// implementation writes for the same message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::io::detail {

class ProtoWriter {
 public:
  /// A varint field (int32, int64, enum, bool).
  void int_field(int field, std::int64_t value);
  /// A float field (fixed32, little-endian IEEE 754).
  void float_field(int field, float value);
  /// A string, bytes or embedded-message field.
  void bytes_field(int field, std::string_view bytes);
  void message_field(int field, const ProtoWriter& message) { bytes_field(field, message.bytes()); }
  /// The encoded message.
  const std::string& bytes() const { return out_; }

 private:
  void varint(std::uint64_t value);
  void key(int field, int wire_type) {
    varint(static_cast<std::uint64_t>(field) << 3 | static_cast<unsigned>(wire_type));
  }
  std::string out_;
};

}  // namespace tg::io::detail
