#include "tools/sim/dtls_transport.hpp"

#include <openssl/ssl.h>

#include <cstdio>
#include <deque>

namespace mqttsn::sim {

std::vector<std::shared_ptr<radio::DtlsClientContext>> make_dtls_contexts(
    const std::string& psk, const std::string& cert, const std::string& key, const std::string& ca,
    std::size_t nodes, std::string& error) {
  radio::DtlsClientOptions o;
  o.cert_file = cert;
  o.key_file = key.empty() ? cert : key;
  o.ca_file = ca;
  std::string identity;
  if (!psk.empty()) {
    const auto colon = psk.rfind(':');
    const std::string hex = colon == std::string::npos ? "" : psk.substr(colon + 1);
    if (colon == std::string::npos || colon == 0 || hex.empty() || hex.size() % 2 != 0 ||
        hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      error = "--dtls-psk: expected IDENTITY:HEXKEY, got \"" + psk + "\"";
      return {};
    }
    identity = psk.substr(0, colon);
    for (std::size_t i = 0; i < hex.size(); i += 2)
      o.psk_key.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  const bool per_node = identity.find("%n") != std::string::npos;
  std::vector<std::shared_ptr<radio::DtlsClientContext>> out;
  for (std::size_t i = 0; i < (per_node ? nodes : 1); ++i) {
    o.psk_identity = identity;
    for (auto at = o.psk_identity.find("%n"); per_node && at != std::string::npos;
         at = o.psk_identity.find("%n"))
      o.psk_identity.replace(at, 2, std::to_string(i + 1));
    auto context = radio::DtlsClientContext::make(o, error);
    if (!context) return {};
    out.push_back(std::move(context));
  }
  return out;
}

struct DtlsTransport::Node {
  std::unique_ptr<radio::DtlsClient> client;
  bool handshaking = false;
  std::deque<std::vector<std::uint8_t>> waiting;  // sent before the association was up
  SSL_SESSION* session = nullptr;                 // to resume with

  ~Node() {
    if (session != nullptr) SSL_SESSION_free(session);
  }
};

DtlsTransport::DtlsTransport(uv_loop_t* loop, std::vector<std::shared_ptr<radio::DtlsClientContext>> contexts,
                             std::size_t nodes)
    : loop_(loop), udp_(loop, nodes) {
  for (std::size_t i = 0; i < nodes; ++i) {
    auto node = std::make_unique<Node>();
    const auto& context = contexts.size() == 1 ? contexts.front() : contexts.at(i);
    node->client = std::make_unique<radio::DtlsClient>(
        context,
        [this, i](std::span<const std::uint8_t> record) {
          udp_.send(i, Datagram{{record.begin(), record.end()}});
        },
        [this, i](std::span<const std::uint8_t> plain) {
          if (receiver_) receiver_(i, Bytes(plain.data(), plain.size()));
        });
    nodes_.push_back(std::move(node));
  }
}

DtlsTransport::~DtlsTransport() {
  close();
}

bool DtlsTransport::open(const sockaddr_storage& gateway, std::string& error) {
  if (!udp_.open(gateway, error)) return false;
  udp_.set_receiver([this](std::size_t i, Bytes d) {
    if (i >= nodes_.size()) return;
    nodes_[i]->client->on_datagram(d);
    after_input(i);
  });
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  // OpenSSL's retransmission timers (1 s and doubling) need a look now and then.
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<DtlsTransport*>(t->data)->on_tick(); }, 100, 100);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  return true;
}

void DtlsTransport::after_input(std::size_t i) {
  Node& n = *nodes_[i];
  auto& c = *n.client;
  if (n.handshaking && c.established()) {
    n.handshaking = false;
    ++stats_.handshakes;
    if (c.resumed()) ++stats_.resumed;
    if (n.session != nullptr) SSL_SESSION_free(n.session);
    n.session = c.session();
    while (!n.waiting.empty()) {
      c.send(n.waiting.front());
      n.waiting.pop_front();
    }
  } else if (n.handshaking && c.failed()) {
    n.handshaking = false;
    ++stats_.failures;
    stats_.dropped += n.waiting.size();
    n.waiting.clear();
    std::fprintf(stderr, "sim: node %zu: DTLS handshake failed: %s\n", i + 1, c.error().c_str());
  }
}

void DtlsTransport::on_tick() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->handshaking) continue;
    nodes_[i]->client->on_tick();
    after_input(i);
  }
}

void DtlsTransport::send(std::size_t i, const Datagram& d) {
  if (i >= nodes_.size()) return;
  if (d.broadcast) return udp_.send(i, d);  // SEARCHGW: in clear
  Node& n = *nodes_[i];
  if (n.client->established()) {
    n.client->send(d.bytes);
    return;
  }
  n.waiting.push_back(d.bytes);
  if (n.handshaking) return;
  n.handshaking = true;
  n.client->connect(n.session);
  after_input(i);
}

bool DtlsTransport::established(std::size_t node) const {
  return node < nodes_.size() && nodes_[node]->client->established();
}

void DtlsTransport::close() {
  for (auto& n : nodes_) n->client->close_notify();
  if (timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
  udp_.close();
}

}  // namespace mqttsn::sim
