// Binary form of a SessionSnapshot: a version octet, then fields in a fixed order; integers
// big-endian, strings and byte strings with a 32-bit length. Written by this file only, so no
// schema language is needed; a new field means a new version number and a branch in decode().
#include "session_snapshot.hpp"

namespace mqttsn {

namespace {

// 1 held the downlink messages too; 2 leaves them to the store's rows (see session_snapshot.hpp).
constexpr std::uint8_t kVersionWithDownlink = 1;
constexpr std::uint8_t kVersion = 2;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void str(std::string_view s) { bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::uint8_t u8() {
    if (pos_ + 1 > in_.size()) return fail();
    return in_[pos_++];
  }
  std::uint16_t u16() {
    const std::uint16_t hi = u8();
    return static_cast<std::uint16_t>(hi << 8 | u8());
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return hi << 16 | u16();
  }
  std::span<const std::uint8_t> bytes() {
    const std::uint32_t n = u32();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    auto b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  std::string str() {
    auto b = bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  // A count of items, each at least `min_size` octets: bounds allocations by the input's size.
  std::size_t count(std::size_t min_size) {
    const std::uint32_t n = u32();
    if (!ok_ || n > (in_.size() - pos_) / min_size) {
      fail();
      return 0;
    }
    return n;
  }

 private:
  std::uint8_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::vector<std::uint8_t> encode_snapshot(const SessionSnapshot& s) {
  Writer w;
  w.u8(kVersion);
  w.str(s.client_id);
  w.u8(s.address.link);
  w.u8(static_cast<std::uint8_t>(s.address.kind));
  w.bytes(s.address.view());
  w.u16(s.address.xbee16);
  w.u8(s.forwarded ? 1 : 0);
  w.str(s.node_id);
  w.u8(static_cast<std::uint8_t>(s.state));
  w.u8(s.clean_session ? 1 : 0);
  w.u16(s.keep_alive_s);
  w.u16(s.sleep_s);
  w.u32(static_cast<std::uint32_t>(s.topics.size()));
  for (const auto& t : s.topics) {
    w.u16(t.id);
    w.str(t.name);
  }
  w.u32(static_cast<std::uint32_t>(s.subscriptions.size()));
  for (const auto& sub : s.subscriptions) {
    w.str(sub.filter);
    w.u8(static_cast<std::uint8_t>(sub.qos));
    w.u8(static_cast<std::uint8_t>(sub.kind));
  }
  w.u8(s.will ? 1 : 0);
  if (s.will) {
    w.str(s.will->topic);
    w.bytes(s.will->message);
    w.u8(static_cast<std::uint8_t>(s.will->qos));
    w.u8(s.will->retain ? 1 : 0);
  }
  w.u32(static_cast<std::uint32_t>(s.qos2_received.size()));
  for (auto id : s.qos2_received) w.u16(id);
  return w.take();
}

std::optional<SessionSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  const std::uint8_t version = r.u8();
  if (version != kVersion && version != kVersionWithDownlink) return std::nullopt;
  SessionSnapshot s;
  s.client_id = r.str();
  s.address.link = r.u8();
  const std::uint8_t kind = r.u8();
  if (kind > static_cast<std::uint8_t>(AddressKind::serial)) return std::nullopt;
  s.address.kind = static_cast<AddressKind>(kind);
  const auto addr = r.bytes();
  if (addr.size() > s.address.bytes.size()) return std::nullopt;
  std::copy(addr.begin(), addr.end(), s.address.bytes.begin());
  s.address.size = static_cast<std::uint8_t>(addr.size());
  s.address.xbee16 = r.u16();
  s.forwarded = r.u8() != 0;
  s.node_id = r.str();
  const std::uint8_t state = r.u8();
  if (state > static_cast<std::uint8_t>(ClientState::disconnected)) return std::nullopt;
  s.state = static_cast<ClientState>(state);
  s.clean_session = r.u8() != 0;
  s.keep_alive_s = r.u16();
  s.sleep_s = r.u16();
  for (std::size_t n = r.count(6); n > 0 && r.ok(); --n) {
    SessionSnapshot::Topic t;
    t.id = r.u16();
    t.name = r.str();
    s.topics.push_back(std::move(t));
  }
  for (std::size_t n = r.count(6); n > 0 && r.ok(); --n) {
    SessionSnapshot::Subscription sub;
    sub.filter = r.str();
    sub.qos = static_cast<QoS>(static_cast<std::int8_t>(r.u8()));
    const std::uint8_t k = r.u8();
    if (k > static_cast<std::uint8_t>(TopicIdType::short_name)) return std::nullopt;
    sub.kind = static_cast<TopicIdType>(k);
    s.subscriptions.push_back(std::move(sub));
  }
  if (r.u8() != 0) {
    Will will;
    will.topic = r.str();
    const auto msg = r.bytes();
    will.message.assign(msg.begin(), msg.end());
    will.qos = static_cast<QoS>(static_cast<std::int8_t>(r.u8()));
    will.retain = r.u8() != 0;
    s.will = std::move(will);
  }
  for (std::size_t n = version == kVersionWithDownlink ? r.count(10) : 0; n > 0 && r.ok(); --n) {
    SessionSnapshot::Message m;
    m.topic = r.str();
    const auto p = r.bytes();
    m.payload.assign(p.begin(), p.end());
    m.qos = static_cast<QoS>(static_cast<std::int8_t>(r.u8()));
    m.retain = r.u8() != 0;
    s.downlink.push_back(std::move(m));
  }
  for (std::size_t n = r.count(2); n > 0 && r.ok(); --n) s.qos2_received.push_back(r.u16());
  if (!r.ok() || !r.at_end() || s.client_id.empty()) return std::nullopt;
  return s;
}

}  // namespace mqttsn
