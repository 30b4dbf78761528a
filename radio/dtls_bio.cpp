#include "radio/dtls_bio.hpp"

#include <algorithm>
#include <cstring>

namespace mqttsn::radio {
namespace {

DatagramBioState* state_of(BIO* b) {
  return static_cast<DatagramBioState*>(BIO_get_data(b));
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  auto* s = state_of(b);
  if (s == nullptr || len < 0) return -1;
  if (s->sink) s->sink({reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)});
  return len;
}

int bio_read(BIO* b, char* out, int size) {
  BIO_clear_retry_flags(b);
  auto* s = state_of(b);
  if (s == nullptr || out == nullptr || size < 0) return -1;
  if (s->pending.empty()) {
    BIO_set_retry_read(b);  // "nothing now": the link feeds the next datagram when it arrives
    return -1;
  }
  // A datagram longer than the read is truncated, as recvfrom would: DTLS reads with a buffer larger
  // than any record, so only garbage is cut.
  const auto n = std::min(s->pending.size(), static_cast<std::size_t>(size));
  std::memcpy(out, s->pending.data(), n);
  s->pending = {};
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long num, void* /*ptr*/) {
  auto* s = state_of(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:  // the link runs the retransmission timers
    case BIO_CTRL_DGRAM_SET_CONNECTED:
    case BIO_CTRL_DGRAM_SET_PEER:
      return 1;
    case BIO_CTRL_PENDING:
      return s != nullptr ? static_cast<long>(s->pending.size()) : 0;
    case BIO_CTRL_WPENDING:
      return 0;  // every write went out at once
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return s != nullptr ? static_cast<long>(s->mtu) : 0;
    case BIO_CTRL_DGRAM_SET_MTU:
      if (s != nullptr && num > 0) s->mtu = static_cast<std::size_t>(num);
      return num;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return 0;  // the MTU above is already the datagram payload
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
      return 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  BIO_set_data(b, nullptr);  // the state belongs to the link
  return 1;
}

// One method table for the process, made on first use (OpenSSL allocates it).
const BIO_METHOD* datagram_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mqttsn datagram");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* new_datagram_bio(DatagramBioState* state) {
  const BIO_METHOD* m = datagram_method();
  if (m == nullptr) return nullptr;
  BIO* b = BIO_new(m);
  if (b != nullptr) BIO_set_data(b, state);
  return b;
}

}  // namespace mqttsn::radio
