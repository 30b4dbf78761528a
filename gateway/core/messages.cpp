// Names and the type octet of each message; the codec and the logs share them.
#include "gateway/core/messages.hpp"

#include <type_traits>

namespace mqttsn {

const char* to_string(MsgType t) {
  switch (t) {
    case MsgType::advertise:
      return "ADVERTISE";
    case MsgType::searchgw:
      return "SEARCHGW";
    case MsgType::gwinfo:
      return "GWINFO";
    case MsgType::connect:
      return "CONNECT";
    case MsgType::connack:
      return "CONNACK";
    case MsgType::willtopicreq:
      return "WILLTOPICREQ";
    case MsgType::willtopic:
      return "WILLTOPIC";
    case MsgType::willmsgreq:
      return "WILLMSGREQ";
    case MsgType::willmsg:
      return "WILLMSG";
    case MsgType::reg:
      return "REGISTER";
    case MsgType::regack:
      return "REGACK";
    case MsgType::publish:
      return "PUBLISH";
    case MsgType::puback:
      return "PUBACK";
    case MsgType::pubcomp:
      return "PUBCOMP";
    case MsgType::pubrec:
      return "PUBREC";
    case MsgType::pubrel:
      return "PUBREL";
    case MsgType::subscribe:
      return "SUBSCRIBE";
    case MsgType::suback:
      return "SUBACK";
    case MsgType::unsubscribe:
      return "UNSUBSCRIBE";
    case MsgType::unsuback:
      return "UNSUBACK";
    case MsgType::pingreq:
      return "PINGREQ";
    case MsgType::pingresp:
      return "PINGRESP";
    case MsgType::disconnect:
      return "DISCONNECT";
    case MsgType::willtopicupd:
      return "WILLTOPICUPD";
    case MsgType::willtopicresp:
      return "WILLTOPICRESP";
    case MsgType::willmsgupd:
      return "WILLMSGUPD";
    case MsgType::willmsgresp:
      return "WILLMSGRESP";
    case MsgType::encapsulated:
      return "ENCAPSULATED";
  }
  return "RESERVED";  // a value cast from a reserved octet
}

namespace {

template <class T>
constexpr MsgType type_for() {
  if constexpr (std::is_same_v<T, Advertise>)
    return MsgType::advertise;
  else if constexpr (std::is_same_v<T, SearchGw>)
    return MsgType::searchgw;
  else if constexpr (std::is_same_v<T, GwInfo>)
    return MsgType::gwinfo;
  else if constexpr (std::is_same_v<T, Connect>)
    return MsgType::connect;
  else if constexpr (std::is_same_v<T, ConnAck>)
    return MsgType::connack;
  else if constexpr (std::is_same_v<T, WillTopicReq>)
    return MsgType::willtopicreq;
  else if constexpr (std::is_same_v<T, WillTopic>)
    return MsgType::willtopic;
  else if constexpr (std::is_same_v<T, WillMsgReq>)
    return MsgType::willmsgreq;
  else if constexpr (std::is_same_v<T, WillMsg>)
    return MsgType::willmsg;
  else if constexpr (std::is_same_v<T, Register>)
    return MsgType::reg;
  else if constexpr (std::is_same_v<T, RegAck>)
    return MsgType::regack;
  else if constexpr (std::is_same_v<T, Publish>)
    return MsgType::publish;
  else if constexpr (std::is_same_v<T, PubAck>)
    return MsgType::puback;
  else if constexpr (std::is_same_v<T, PubRec>)
    return MsgType::pubrec;
  else if constexpr (std::is_same_v<T, PubRel>)
    return MsgType::pubrel;
  else if constexpr (std::is_same_v<T, PubComp>)
    return MsgType::pubcomp;
  else if constexpr (std::is_same_v<T, Subscribe>)
    return MsgType::subscribe;
  else if constexpr (std::is_same_v<T, SubAck>)
    return MsgType::suback;
  else if constexpr (std::is_same_v<T, Unsubscribe>)
    return MsgType::unsubscribe;
  else if constexpr (std::is_same_v<T, UnsubAck>)
    return MsgType::unsuback;
  else if constexpr (std::is_same_v<T, PingReq>)
    return MsgType::pingreq;
  else if constexpr (std::is_same_v<T, PingResp>)
    return MsgType::pingresp;
  else if constexpr (std::is_same_v<T, Disconnect>)
    return MsgType::disconnect;
  else if constexpr (std::is_same_v<T, WillTopicUpd>)
    return MsgType::willtopicupd;
  else if constexpr (std::is_same_v<T, WillTopicResp>)
    return MsgType::willtopicresp;
  else if constexpr (std::is_same_v<T, WillMsgUpd>)
    return MsgType::willmsgupd;
  else if constexpr (std::is_same_v<T, WillMsgResp>)
    return MsgType::willmsgresp;
  else if constexpr (std::is_same_v<T, Encapsulated>)
    return MsgType::encapsulated;
  else
    static_assert(!sizeof(T), "every Message alternative needs a MsgType");
}

}  // namespace

MsgType type_of(const Message& m) {
  return std::visit([](const auto& v) { return type_for<std::decay_t<decltype(v)>>(); }, m);
}

}  // namespace mqttsn
