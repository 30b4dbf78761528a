#pragma once
// The node's side of a DTLS 1.2 association, without a socket: the caller feeds the datagrams it
// receives and sends the records the client produces (the datagram BIO's sink). The simulator, the
// bench and the tests use it to speak to a DTLS link; nothing in the gateway does.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "radio/dtls_bio.hpp"

namespace mqttsn::radio {

struct DtlsClientOptions {
  std::string psk_identity;  // with psk_key: PSK
  std::vector<std::uint8_t> psk_key;
  std::string cert_file, key_file;  // a client certificate; "" = none
  std::string ca_file;              // verifies the gateway's certificate; "" = not verified
  std::size_t mtu = 1400;
};

// One SSL_CTX per set of options, shared by many clients (the simulator runs hundreds of nodes).
class DtlsClientContext {
 public:
  // Null with `error` set when a file cannot be used.
  static std::shared_ptr<DtlsClientContext> make(const DtlsClientOptions& options, std::string& error);
  ~DtlsClientContext();
  SSL_CTX* get() const { return ctx_; }
  const DtlsClientOptions& options() const { return options_; }

 private:
  DtlsClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  DtlsClientOptions options_;
};

class DtlsClient {
 public:
  using Sink = std::function<void(std::span<const std::uint8_t>)>;
  using Receiver = std::function<void(std::span<const std::uint8_t>)>;

  DtlsClient(std::shared_ptr<DtlsClientContext> context, Sink sink, Receiver receiver);
  ~DtlsClient();
  DtlsClient(const DtlsClient&) = delete;
  DtlsClient& operator=(const DtlsClient&) = delete;

  // Sends the ClientHello; `resume` (from session()) offers the earlier session or ticket.
  void connect(SSL_SESSION* resume = nullptr);
  // One received datagram: handshake records, or application data handed to the receiver.
  void on_datagram(std::span<const std::uint8_t> datagram);
  // Retransmits the last flight when its timer ran out; call it every 100 ms or so while handshaking.
  void on_tick();
  bool send(std::span<const std::uint8_t> plain);
  void close_notify();

  bool established() const { return established_; }
  bool failed() const { return failed_; }
  bool resumed() const;
  const std::string& error() const { return error_; }
  // The session to resume with later (owned by the caller: SSL_SESSION_free). Null before the handshake.
  SSL_SESSION* session() const;

 private:
  void drive();

  std::shared_ptr<DtlsClientContext> context_;
  Receiver receiver_;
  DatagramBioState bio_;
  SSL* ssl_ = nullptr;
  bool established_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace mqttsn::radio
