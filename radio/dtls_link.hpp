#pragma once
// A Link speaking DTLS 1.2 over one UDP socket (a UdpLink underneath carries the records). Each peer
// (ip:port) with a finished handshake is an association; the MQTT-SN datagrams inside are what the
// gateway sees, with the same LinkAddress as on a plain UDP link.
//
// No state before a cookie: a ClientHello from an unknown peer is answered by a HelloVerifyRequest
// whose cookie is an HMAC of the peer's address under a secret that rotates; only a ClientHello that
// returns a valid cookie (so the peer receives at that address) gets an SSL object. Handshakes in
// progress and associations are bounded; a handshake that does not finish, and an association idle
// without an MQTT-SN session, time out. An association whose node has a session (the link sees the
// CONNACK it carried) stays while the node sleeps, until the node disconnects or max_sessions needs
// the room. Nodes that handshake again resume with a session ticket.
//
// Authentication: PSK (identities and keys replaced at run time, set_psk_keys()) and/or a server
// certificate, with client certificates verified against a CA. identity_of() gives the admission
// check the authenticated identity of a peer (PSK identity, or the certificate's first DNS, URI or
// e-mail subject alternative name, else its CN).
//
// Discovery cannot be DTLS (SEARCHGW and ADVERTISE are broadcast): with discovery_in_clear the link
// passes a clear SEARCHGW from any peer up, sends GWINFO back in clear, and broadcasts ADVERTISE in
// clear; without it, neither.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/ssl.h>

#include "radio/dtls_bio.hpp"
#include "radio/secure_link.hpp"
#include "radio/udp_link.hpp"

namespace mqttsn::radio {

class DtlsLink final : public SecureLink {
 public:
  DtlsLink(std::uint8_t index, DtlsLinkOptions options, LinkCallbacks callbacks);
  ~DtlsLink() override;

  std::string_view name() const override { return "dtls"; }
  // Also fails (UV_EINVAL) when the certificate, key or CA cannot be loaded, or nothing authenticates.
  int start(uv_loop_t* loop) override;
  void close() override;
  bool send(const LinkAddress& to, Bytes datagram) override;
  bool broadcast(Bytes datagram, std::uint8_t radius) override;
  std::size_t max_payload() const override;
  const LinkStats& stats() const override;
  bool is_up() const override { return udp_.is_up(); }
  // A node without a session keeps its association only until idle_timeout: the gateway's word here
  // covers what the link cannot read off the messages (a keep-alive that ran out, an expired session,
  // an operator's kick).
  void note_session(const LinkAddress& node, bool holds_session) override;

  // Whether `options` would start: the certificate, key and CA load and match, and something
  // authenticates. "" when they do, else the reason. Opens the files; no socket.
  static std::string check_credentials(const DtlsLinkOptions& options);

  std::uint16_t local_port() const { return udp_.local_port(); }
  // The authenticated identity of the peer at `address`; "" when it has no association.
  std::string identity_of(const LinkAddress& address) const override;
  void set_psk_keys(std::shared_ptr<const PskKeyTable> keys) override;
  std::size_t associations() const;
  std::size_t handshakes_in_progress() const;

 private:
  struct Peer;
  void on_record_datagram(const LinkAddress& from, Bytes datagram);
  void on_new_client_hello(const LinkAddress& from, Bytes datagram);
  void drive(Peer& peer);
  void handshake_done(Peer& peer);
  void drop(const LinkAddress& address, const char* why);
  void count_failure(Peer& peer, unsigned long error);
  void track_session(Peer& peer, Bytes plain, bool from_gateway);
  bool send_clear(const LinkAddress& to, Bytes datagram);
  void on_tick();
  void arm_timer();
  bool make_listener();
  bool make_context();
  void rotate_secret_if_due();

  static int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* len);
  static int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int len);
  static unsigned int psk_server_cb(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_len);
  bool cookie_for(const LinkAddress& peer, const std::uint8_t* secret, std::uint8_t* out,
                  unsigned* len) const;

  DtlsLinkOptions options_;
  LinkCallbacks callbacks_;
  UdpLink udp_;
  uv_loop_t* loop_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  // The stateless listener: one SSL object runs DTLSv1_listen for every unknown peer; when a cookie
  // verifies it becomes that peer's, and a fresh one takes its place.
  SSL* listener_ = nullptr;
  std::unique_ptr<DatagramBioState> listener_bio_;
  LinkAddress current_peer_{};  // the peer whose datagram is being handled (for the cookie callbacks)
  std::unordered_map<LinkAddress, std::unique_ptr<Peer>> peers_;
  std::uint8_t secret_[32]{}, previous_secret_[32]{};
  std::chrono::steady_clock::time_point secret_born_{};
  mutable LinkStats stats_;
};

}  // namespace mqttsn::radio
