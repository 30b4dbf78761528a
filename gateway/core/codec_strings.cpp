// Error names. The first nine are the reasons the test vector file uses; keep them byte-identical.
#include "gateway/core/codec.hpp"

namespace mqttsn {

const char* to_string(DecodeErrorKind k) {
  switch (k) {
    case DecodeErrorKind::zero_length:
      return "zero-length";
    case DecodeErrorKind::truncated:
      return "truncated";
    case DecodeErrorKind::length_mismatch:
      return "length-mismatch";
    case DecodeErrorKind::bad_length:
      return "bad-length";
    case DecodeErrorKind::reserved_type:
      return "reserved-type";
    case DecodeErrorKind::too_short:
      return "too-short";
    case DecodeErrorKind::bad_protocol_id:
      return "bad-protocol-id";
    case DecodeErrorKind::qos_minus1_topic_type:
      return "qos-1-topic-type";
    case DecodeErrorKind::reserved_topic_type:
      return "reserved-topic-type";
    case DecodeErrorKind::field_out_of_range:
      return "field-out-of-range";
    case DecodeErrorKind::bad_encapsulation:
      return "bad-encapsulation";
  }
  return "unknown-error";
}

const char* to_string(EncodeError e) {
  switch (e) {
    case EncodeError::none:
      return "none";
    case EncodeError::buffer_too_small:
      return "buffer-too-small";
    case EncodeError::field_out_of_range:
      return "field-out-of-range";
  }
  return "unknown-error";
}

}  // namespace mqttsn
