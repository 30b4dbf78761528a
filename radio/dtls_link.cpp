#include "radio/dtls_link.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "gateway/core/log.hpp"
#include "radio/dtls_records.hpp"

namespace mqttsn::radio {

using Clock = std::chrono::steady_clock;

struct DtlsLink::Peer {
  LinkAddress address;
  SSL* ssl = nullptr;
  std::unique_ptr<DatagramBioState> bio;
  bool established = false;
  bool has_session = false;  // a CONNACK accepted went through, and no DISCONNECT without duration since
  std::string identity;
  Clock::time_point started, last_seen;
  // The ClientHello random that began this association: the same hello again is a retransmission
  // or a late duplicate, not a node that restarted (which picks a new random).
  std::array<std::uint8_t, 32> hello_random{};

  ~Peer() {
    if (ssl != nullptr) SSL_free(ssl);  // frees the BIO too
  }
};

namespace {

constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kSearchGw = 0x01, kGwInfo = 0x02, kConnack = 0x05, kDisconnect = 0x18;

// An MQTT-SN message's type and body (after the length and type octets); false if too short.
bool mqttsn_header(Bytes d, std::uint8_t& type, Bytes& body) {
  if (d.size() >= 4 && d[0] == 0x01) {
    type = d[3];
    body = d.subspan(4);
    return true;
  }
  if (d.size() < 2 || d[0] < 2) return false;
  type = d[1];
  body = d.subspan(2);
  return true;
}

bool is_type(Bytes d, std::uint8_t wanted) {
  std::uint8_t type = 0;
  Bytes body;
  return mqttsn_header(d, type, body) && type == wanted;
}

// A DTLS record (content types 20..25, version 0xFEFD/0xFEFF) starts the datagram.
bool looks_like_dtls(Bytes d) {
  return d.size() >= 13 && d[0] >= 20 && d[0] <= 25 && d[1] == 0xFE;
}

// A first-flight ClientHello: handshake record of epoch 0 carrying handshake type 1.
bool is_client_hello(Bytes d) {
  return d.size() >= 14 && d[0] == kHandshake && d[3] == 0 && d[4] == 0 && d[13] == 1;
}

// The 32-byte random of a ClientHello (after the record header, the handshake header and the
// version), the same in both of a client's hellos (RFC 6347 4.2.1); all zero when too short.
std::array<std::uint8_t, 32> client_random(Bytes d) {
  constexpr std::size_t kOffset = 13 + 12 + 2;
  std::array<std::uint8_t, 32> r{};
  if (d.size() >= kOffset + r.size()) std::copy_n(d.begin() + kOffset, r.size(), r.begin());
  return r;
}

std::string openssl_error_text(unsigned long e) {
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  auto* stats = static_cast<LinkStats*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (stats == nullptr) return;
  const bool received = (where & SSL_CB_READ) != 0;
  ++(received ? stats->dtls_alerts_received : stats->dtls_alerts_sent);
  MQTTSN_LOG(debug, "dtls: alert %s: %s %s", received ? "received" : "sent", SSL_alert_type_string_long(ret),
             SSL_alert_desc_string_long(ret));
}

// A client certificate's identity: its first subject alternative name that names something (DNS,
// URI or e-mail, in the certificate's order), else its CN. A certificate with names in its SAN is
// about those names (RFC 6125 6.4.4), and device certificates often put the device id there.
std::string certificate_identity(X509* cert) {
  std::string identity;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names) && identity.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS && name->type != GEN_URI && name->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* text = name->d.ia5;
    identity.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                    static_cast<std::size_t>(ASN1_STRING_length(text)));
    // A name with a NUL inside would pin as something else than it says: not an identity.
    if (identity.find('\0') != std::string::npos) identity.clear();
  }
  GENERAL_NAMES_free(names);
  if (!identity.empty()) return identity;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
    identity = cn;
  return identity;
}

// The link a callback runs for: the SSL object's app data.
DtlsLink* link_of(SSL* ssl) {
  return static_cast<DtlsLink*>(SSL_get_app_data(ssl));
}

}  // namespace

DtlsLink::DtlsLink(std::uint8_t index, DtlsLinkOptions options, LinkCallbacks callbacks)
    : SecureLink(index),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      udp_(
          index, options_.udp,
          LinkCallbacks{[this](const LinkAddress& from, Bytes d) { on_record_datagram(from, d); }, nullptr}) {
}

DtlsLink::~DtlsLink() {
  close();
}

std::size_t DtlsLink::max_payload() const {
  return options_.udp.max_datagram > kDtlsRecordOverhead ? options_.udp.max_datagram - kDtlsRecordOverhead
                                                         : 0;
}

namespace {

// The server context for `o`, or nullptr with `error` set: certificate, key and CA loaded, PSK and
// cookie callbacks set. The caller sets the app data (the stats the info callback counts into).
SSL_CTX* new_server_context(const DtlsLinkOptions& o, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_server_method());
  if (ctx == nullptr) {
    error = "cannot make a DTLS context: " + openssl_error_text(ERR_get_error());
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  // The link sets the MTU itself: the BIO has no socket to ask.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx, kDtlsServerCiphers) != 1) {
    error = "cannot set the DTLS cipher suites: " + openssl_error_text(ERR_get_error());
    SSL_CTX_free(ctx);
    return nullptr;
  }
  // Memory per association: OpenSSL sizes each one's write buffer for the largest record it may send
  // (16 KB by default); no record here is larger than a datagram.
  SSL_CTX_set_max_send_fragment(
      ctx, static_cast<long>(std::clamp<std::size_t>(o.udp.max_datagram, 512, SSL3_RT_MAX_PLAIN_LENGTH)));
  SSL_CTX_set_info_callback(ctx, info_callback);
  // Resumption: tickets (the default, keys random per process) and the server's session cache. The id
  // context is required as soon as client certificates are verified.
  static const unsigned char kSessionContext[] = "mqttsn-gw dtls";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, static_cast<long>(std::max<std::size_t>(o.max_sessions, 64)));
  bool authenticates = o.psk_keys != nullptr;
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      error = "cannot use certificate " + o.cert_file + " with key " + o.key_file + ": " +
              openssl_error_text(ERR_get_error());
      SSL_CTX_free(ctx);
      return nullptr;
    }
    authenticates = true;
  }
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      error = "cannot load the CA file " + o.ca_file + ": " + openssl_error_text(ERR_get_error());
      SSL_CTX_free(ctx);
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  }
  if (!authenticates) {
    error = "neither a PSK file nor a certificate: nothing to authenticate with";
    SSL_CTX_free(ctx);
    return nullptr;
  }
  ERR_clear_error();
  return ctx;
}

}  // namespace

std::string DtlsLink::check_credentials(const DtlsLinkOptions& options) {
  std::string error;
  if (SSL_CTX* ctx = new_server_context(options, error)) SSL_CTX_free(ctx);
  ERR_clear_error();
  return error;
}

bool DtlsLink::make_context() {
  std::string error;
  ctx_ = new_server_context(options_, error);
  if (ctx_ == nullptr) {
    MQTTSN_LOG(error, "dtls: link %u: %s", index_, error.c_str());
    return false;
  }
  SSL_CTX_set_app_data(ctx_, &stats_);
  SSL_CTX_set_cookie_generate_cb(ctx_, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx_, verify_cookie);
  if (options_.psk_keys) SSL_CTX_set_psk_server_callback(ctx_, psk_server_cb);
  return true;
}

bool DtlsLink::make_listener() {
  if (listener_ != nullptr) SSL_free(listener_);
  listener_ = SSL_new(ctx_);
  if (listener_ == nullptr) return false;
  listener_bio_ = std::make_unique<DatagramBioState>();
  listener_bio_->mtu = options_.udp.max_datagram;
  listener_bio_->sink = [this](std::span<const std::uint8_t> d) { udp_.send(current_peer_, d); };
  BIO* bio = new_datagram_bio(listener_bio_.get());
  if (bio == nullptr) return false;
  SSL_set_bio(listener_, bio, bio);
  SSL_set_app_data(listener_, this);
  SSL_set_mtu(listener_, static_cast<long>(options_.udp.max_datagram));
  SSL_set_accept_state(listener_);
  return true;
}

int DtlsLink::start(uv_loop_t* loop) {
  if (ctx_ == nullptr && !make_context()) {
    close();
    return UV_EINVAL;
  }
  if (!make_listener()) {
    close();
    return UV_ENOMEM;
  }
  RAND_bytes(secret_, sizeof secret_);
  RAND_bytes(previous_secret_, sizeof previous_secret_);
  secret_born_ = Clock::now();
  if (const int rc = udp_.start(loop); rc != 0) {
    close();
    return rc;
  }
  loop_ = loop;
  timer_ = new uv_timer_t;
  uv_timer_init(loop, timer_);
  timer_->data = this;
  MQTTSN_LOG(info, "dtls: link %u on port %u: %zu PSK identit%s%s%s, discovery %s", index_, local_port(),
             options_.psk_keys ? options_.psk_keys->size() : 0,
             options_.psk_keys && options_.psk_keys->size() == 1 ? "y" : "ies",
             options_.cert_file.empty() ? "" : ", certificate ", options_.cert_file.c_str(),
             options_.discovery_in_clear ? "in clear" : "off");
  return 0;
}

void DtlsLink::close() {
  // Tell every node its association ends (one close_notify each, best effort), then free it all.
  for (auto& [address, peer] : peers_)
    if (peer->established) SSL_shutdown(peer->ssl);
  peers_.clear();
  if (timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
  udp_.close();
  if (listener_ != nullptr) SSL_free(listener_);
  listener_ = nullptr;
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  ctx_ = nullptr;
}

void DtlsLink::set_psk_keys(std::shared_ptr<const PskKeyTable> keys) {
  // Associations already made stay; the next handshake uses the new keys.
  options_.psk_keys = std::move(keys);
}

std::size_t DtlsLink::associations() const {
  return static_cast<std::size_t>(
      std::count_if(peers_.begin(), peers_.end(), [](const auto& p) { return p.second->established; }));
}

std::size_t DtlsLink::handshakes_in_progress() const {
  return peers_.size() - associations();
}

std::string DtlsLink::identity_of(const LinkAddress& address) const {
  const auto it = peers_.find(address);
  return it != peers_.end() && it->second->established ? it->second->identity : std::string();
}

const LinkStats& DtlsLink::stats() const {
  const LinkStats& u = udp_.stats();
  stats_.frames_in = u.frames_in;
  stats_.frames_out = u.frames_out;
  stats_.bytes_in = u.bytes_in;
  stats_.bytes_out = u.bytes_out;
  stats_.oversize_dropped = u.oversize_dropped;
  stats_.tx_failures = u.tx_failures;
  stats_.queue_full_drops = u.queue_full_drops;
  stats_.receive_buffer_drops = u.receive_buffer_drops;
  stats_.not_open_drops = u.not_open_drops;
  stats_.dtls_sessions = associations();
  stats_.dtls_handshakes = handshakes_in_progress();
  return stats_;
}

// ---- cookies: an HMAC of the peer's address, so a HelloVerifyRequest costs no state

bool DtlsLink::cookie_for(const LinkAddress& peer, const std::uint8_t* secret, std::uint8_t* out,
                          unsigned* len) const {
  std::uint8_t input[2 + sizeof peer.bytes];
  input[0] = static_cast<std::uint8_t>(peer.kind);
  input[1] = peer.size;
  std::memcpy(input + 2, peer.bytes.data(), peer.size);
  return HMAC(EVP_sha256(), secret, 32, input, 2u + peer.size, out, len) != nullptr;
}

int DtlsLink::generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* len) {
  DtlsLink* self = link_of(ssl);
  if (self == nullptr || !self->cookie_for(self->current_peer_, self->secret_, cookie, len)) return 0;
  ++self->stats_.dtls_cookies_sent;
  return 1;
}

int DtlsLink::verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int len) {
  DtlsLink* self = link_of(ssl);
  if (self == nullptr) return 0;
  // The current secret, or the one before it: a cookie made just before a rotation still counts.
  for (const std::uint8_t* secret : {self->secret_, self->previous_secret_}) {
    std::uint8_t expected[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (self->cookie_for(self->current_peer_, secret, expected, &n) && n == len &&
        CRYPTO_memcmp(expected, cookie, n) == 0)
      return 1;
  }
  ++self->stats_.dtls_cookie_mismatches;
  return 0;
}

void DtlsLink::rotate_secret_if_due() {
  const auto now = Clock::now();
  if (now - secret_born_ < options_.cookie_secret_lifetime) return;
  std::memcpy(previous_secret_, secret_, sizeof secret_);
  RAND_bytes(secret_, sizeof secret_);
  secret_born_ = now;
}

unsigned int DtlsLink::psk_server_cb(SSL* ssl, const char* identity, unsigned char* psk,
                                     unsigned int max_len) {
  DtlsLink* self = link_of(ssl);
  if (self == nullptr || identity == nullptr || !self->options_.psk_keys) return 0;
  const auto it = self->options_.psk_keys->find(std::string_view(identity));
  if (it == self->options_.psk_keys->end() || it->second.size() > max_len) {
    MQTTSN_LOG(warning, "dtls: link %u: %s: unknown PSK identity \"%s\"", self->index_,
               self->current_peer_.to_string().c_str(), identity);
    return 0;
  }
  std::memcpy(psk, it->second.data(), it->second.size());
  return static_cast<unsigned>(it->second.size());
}

// ---- receiving

void DtlsLink::on_record_datagram(const LinkAddress& from, Bytes d) {
  current_peer_ = from;
  if (const auto it = peers_.find(from); it != peers_.end()) {
    Peer& peer = *it->second;
    // A node that restarted handshakes again from the same address; its old association cannot read
    // an epoch-0 ClientHello. It goes through the cookie exchange like any newcomer (RFC 6347 4.2.8).
    if (peer.established && is_client_hello(d)) {
      if (client_random(d) == peer.hello_random) {
        ++stats_.dtls_stray_records;  // a delayed copy of the hello that began this association
        return;
      }
      return on_new_client_hello(from, d);
    }
    if (!records_well_formed(d, min_protected_record(peer.ssl))) {
      ++stats_.dtls_bad_records;  // forged or damaged: OpenSSL would end the association over it
      return;
    }
    peer.last_seen = Clock::now();
    feed_datagram(*peer.bio, d);
    return drive(peer);
  }
  if (!looks_like_dtls(d)) {
    if (options_.discovery_in_clear && is_type(d, kSearchGw)) {
      ++stats_.dtls_clear_discovery;
      ++stats_.datagrams_in;
      if (callbacks_.on_datagram) callbacks_.on_datagram(from, d);
      return;
    }
    ++stats_.malformed_frames;
    return;
  }
  if (!is_client_hello(d)) {
    ++stats_.dtls_stray_records;
    return;
  }
  on_new_client_hello(from, d);
}

void DtlsLink::on_new_client_hello(const LinkAddress& from, Bytes d) {
  rotate_secret_if_due();
  feed_datagram(*listener_bio_, d);
  BIO_ADDR* client = BIO_ADDR_new();
  const int rc = DTLSv1_listen(listener_, client);
  BIO_ADDR_free(client);
  feed_datagram(*listener_bio_, {});
  if (rc <= 0) {  // answered with a HelloVerifyRequest, or not a ClientHello at all: nothing kept
    ERR_clear_error();
    return;
  }
  // The cookie came back: the peer receives at this address. Now it may cost state, within bounds.
  if (handshakes_in_progress() >= options_.max_handshakes) {
    ++stats_.dtls_refused_busy;
    MQTTSN_LOG(notice, "dtls: link %u: %s refused: %zu handshakes in progress (max_handshakes)", index_,
               from.to_string().c_str(), handshakes_in_progress());
    make_listener();
    return;
  }
  if (const auto old = peers_.find(from); old != peers_.end()) {
    MQTTSN_LOG(info, "dtls: link %u: %s handshakes again; its old association ends", index_,
               from.to_string().c_str());
    peers_.erase(old);
  }
  if (peers_.size() >= options_.max_sessions) {
    // Room is made by closing the association idle the longest, preferring one without an MQTT-SN session.
    Peer* victim = nullptr;
    for (auto& [address, p] : peers_) {
      if (!p->established) continue;
      if (victim == nullptr || (victim->has_session && !p->has_session) ||
          (victim->has_session == p->has_session && p->last_seen < victim->last_seen))
        victim = p.get();
    }
    if (victim == nullptr) {
      ++stats_.dtls_refused_full;
      MQTTSN_LOG(notice, "dtls: link %u: %s refused: %zu associations (max_sessions)", index_,
                 from.to_string().c_str(), peers_.size());
      make_listener();
      return;
    }
    ++stats_.dtls_evicted;
    SSL_shutdown(victim->ssl);
    drop(LinkAddress(victim->address), "closed to make room (max_sessions)");
  }
  auto peer = std::make_unique<Peer>();
  peer->address = from;
  peer->hello_random = client_random(d);
  peer->ssl = listener_;
  peer->bio = std::move(listener_bio_);
  peer->bio->sink = [this, from](std::span<const std::uint8_t> out) { udp_.send(from, out); };
  peer->started = peer->last_seen = Clock::now();
  listener_ = nullptr;
  Peer& p = *peer;
  peers_.emplace(from, std::move(peer));
  if (!make_listener()) MQTTSN_LOG(error, "dtls: link %u: out of memory for the listener", index_);
  arm_timer();
  drive(p);  // the ClientHello is still in the SSL object's buffer: the handshake goes on from there
}

void DtlsLink::drive(Peer& peer) {
  if (!peer.established) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(peer.ssl);
    if (rc != 1) {
      const int err = SSL_get_error(peer.ssl, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      count_failure(peer, ERR_peek_last_error());
      return drop(LinkAddress(peer.address), "handshake failed");
    }
    handshake_done(peer);
  }
  std::uint8_t plain[65536];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(peer.ssl, plain, sizeof plain);
    if (n > 0) {
      ++stats_.datagrams_in;
      const Bytes datagram(plain, static_cast<std::size_t>(n));
      track_session(peer, datagram, false);
      // The core may send from inside this call (to this peer too): the association stays, nothing
      // erases a peer on send.
      if (callbacks_.on_datagram) callbacks_.on_datagram(peer.address, datagram);
      continue;
    }
    const int err = SSL_get_error(peer.ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    ++stats_.dtls_closed_by_peer;
    return drop(LinkAddress(peer.address),
                err == SSL_ERROR_ZERO_RETURN ? "closed by the node" : "ended by an error or alert");
  }
}

void DtlsLink::handshake_done(Peer& peer) {
  peer.established = true;
  ++stats_.dtls_handshakes_ok;
  const bool resumed = SSL_session_reused(peer.ssl) == 1;
  if (resumed) ++stats_.dtls_resumptions;
  const char* how = "psk";
  if (const char* psk_identity = SSL_get_psk_identity(peer.ssl); psk_identity != nullptr) {
    peer.identity = psk_identity;
  } else if (X509* cert = SSL_get0_peer_certificate(peer.ssl); cert != nullptr) {
    peer.identity = certificate_identity(cert);
    how = "certificate";
  } else {
    how = "no client authentication";
  }
  MQTTSN_LOG(info, "dtls: link %u: %s authenticated as \"%s\" (%s, %s%s)", index_,
             peer.address.to_string().c_str(), peer.identity.c_str(), how, SSL_get_cipher_name(peer.ssl),
             resumed ? ", resumed" : "");
}

void DtlsLink::count_failure(Peer& peer, unsigned long error) {
  const int reason = ERR_GET_REASON(error);
  const char* why = "other";
  if (reason == SSL_R_PSK_IDENTITY_NOT_FOUND) {
    ++stats_.dtls_failed_psk_identity;
    why = "unknown PSK identity";
  } else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED || reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
             reason == SSL_R_NO_CERTIFICATES_RETURNED) {
    ++stats_.dtls_failed_certificate;
    why = "client certificate missing or not trusted";
  } else if (reason == SSL_R_NO_SHARED_CIPHER) {
    ++stats_.dtls_failed_no_cipher;
    why = "no cipher suite in common";
  } else if (reason >= SSL_AD_REASON_OFFSET) {
    ++stats_.dtls_failed_peer_alert;
    why = "alert from the node";
  } else {
    ++stats_.dtls_failed_other;
  }
  MQTTSN_LOG(warning, "dtls: link %u: handshake with %s failed: %s (%s)", index_,
             peer.address.to_string().c_str(), why,
             error != 0 ? openssl_error_text(error).c_str() : "no detail");
}

void DtlsLink::drop(const LinkAddress& address, const char* why) {
  const auto it = peers_.find(address);
  if (it == peers_.end()) return;
  MQTTSN_LOG(info, "dtls: link %u: %s (%s): association %s", index_, address.to_string().c_str(),
             it->second->identity.empty() ? "-" : it->second->identity.c_str(), why);
  peers_.erase(it);
  ERR_clear_error();
  arm_timer();
}

// Whether the node has an MQTT-SN session, read off the messages the association carries: the link
// keeps a sleeping node's association, and lets an idle one without a session go.
void DtlsLink::track_session(Peer& peer, Bytes plain, bool from_gateway) {
  std::uint8_t type = 0;
  Bytes body;
  if (!mqttsn_header(plain, type, body)) return;
  if (from_gateway && type == kConnack && !body.empty() && body[0] == 0) peer.has_session = true;
  // DISCONNECT with a duration is a node going to sleep: its session (and association) stay.
  if (!from_gateway && type == kDisconnect && body.size() < 2) peer.has_session = false;
}

void DtlsLink::note_session(const LinkAddress& node, bool holds_session) {
  const auto it = peers_.find(node);
  if (it == peers_.end() || !it->second->established) return;
  it->second->has_session = holds_session;
}

// ---- sending

bool DtlsLink::send(const LinkAddress& to, Bytes datagram) {
  const auto it = peers_.find(to);
  if (it == peers_.end() || !it->second->established) {
    if (options_.discovery_in_clear && is_type(datagram, kGwInfo)) return send_clear(to, datagram);
    ++stats_.dtls_no_association_drops;
    MQTTSN_LOG(debug, "dtls: link %u: no association with %s: datagram dropped", index_,
               to.to_string().c_str());
    return false;
  }
  if (datagram.size() > max_payload()) {
    ++stats_.oversize_refused;
    MQTTSN_LOG(warning, "dtls: datagram of %zu octets exceeds the max payload %zu: not sent", datagram.size(),
               max_payload());
    return false;
  }
  Peer& peer = *it->second;
  ERR_clear_error();
  const int n = SSL_write(peer.ssl, datagram.data(), static_cast<int>(datagram.size()));
  if (n <= 0) {
    ++stats_.tx_failures;
    ERR_clear_error();
    return false;
  }
  ++stats_.datagrams_out;
  track_session(peer, datagram, true);
  return true;
}

bool DtlsLink::send_clear(const LinkAddress& to, Bytes datagram) {
  ++stats_.dtls_clear_discovery;
  if (!udp_.send(to, datagram)) return false;
  ++stats_.datagrams_out;
  return true;
}

bool DtlsLink::broadcast(Bytes datagram, std::uint8_t radius) {
  if (!options_.discovery_in_clear) return false;
  if (!udp_.broadcast(datagram, radius)) return false;
  ++stats_.broadcasts_out;
  return true;
}

// ---- time: retransmissions, handshake and idle timeouts

void DtlsLink::arm_timer() {
  if (timer_ == nullptr) return;
  if (peers_.empty()) {
    uv_timer_stop(timer_);
    return;
  }
  // Handshakes need their retransmission timers (OpenSSL's start at 1 s); associations only idle checks.
  const auto idle_check = std::clamp<std::int64_t>(options_.idle_timeout.count() / 4, 100, 5000);
  const std::uint64_t period = handshakes_in_progress() > 0 ? 250 : static_cast<std::uint64_t>(idle_check);
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(timer_)) && uv_timer_get_repeat(timer_) == period) return;
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<DtlsLink*>(t->data)->on_tick(); }, period, period);
}

void DtlsLink::on_tick() {
  const auto now = Clock::now();
  rotate_secret_if_due();
  std::vector<std::pair<LinkAddress, const char*>> expired;
  for (auto& [address, peer] : peers_) {
    if (!peer->established) {
      if (now - peer->started > options_.handshake_timeout) {
        ++stats_.dtls_handshake_timeouts;
        expired.emplace_back(address,
                             "handshake did not finish in time (wrong PSK key, or the node went away)");
        continue;
      }
      current_peer_ = address;
      if (DTLSv1_handle_timeout(peer->ssl) < 0) ERR_clear_error();
    } else if (!peer->has_session && now - peer->last_seen > options_.idle_timeout) {
      ++stats_.dtls_idle_closed;
      SSL_shutdown(peer->ssl);
      expired.emplace_back(address, "idle without an MQTT-SN session");
    }
  }
  for (const auto& [address, why] : expired) drop(address, why);
  arm_timer();
}

}  // namespace mqttsn::radio
