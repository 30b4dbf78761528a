#pragma once
// Semantic equality of two messages: what the protocol means, not how the structs happen to be filled
// in. Views are compared by content; fields the wire does not carry for a variant are ignored (the
// topic name of a SUBSCRIBE by id, the flags of an empty WILLTOPIC). decode(encode(m)) is equivalent
// to m for every m that encode() accepts; the fuzzer and the codec tests check exactly that.
#include "gateway/core/messages.hpp"

namespace mqttsn {

bool equivalent(const Message& a, const Message& b);

}  // namespace mqttsn
