#include "radio/dtls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>

namespace mqttsn::radio {
namespace {

std::string last_error() {
  char buf[256] = "unknown error";
  if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

unsigned int psk_client_cb(SSL* ssl, const char* /*hint*/, char* identity, unsigned int max_identity,
                           unsigned char* psk, unsigned int max_psk) {
  const auto* o = static_cast<const DtlsClientOptions*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (o == nullptr || o->psk_identity.size() + 1 > max_identity || o->psk_key.size() > max_psk) return 0;
  std::memcpy(identity, o->psk_identity.c_str(), o->psk_identity.size() + 1);
  std::memcpy(psk, o->psk_key.data(), o->psk_key.size());
  return static_cast<unsigned>(o->psk_key.size());
}

}  // namespace

std::shared_ptr<DtlsClientContext> DtlsClientContext::make(const DtlsClientOptions& options,
                                                           std::string& error) {
  std::shared_ptr<DtlsClientContext> c(new DtlsClientContext);
  c->options_ = options;
  c->ctx_ = SSL_CTX_new(DTLS_client_method());
  if (c->ctx_ == nullptr) {
    error = last_error();
    return nullptr;
  }
  SSL_CTX_set_app_data(c->ctx_, &c->options_);
  SSL_CTX_set_min_proto_version(c->ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_options(c->ctx_, SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_CLIENT);
  if (!options.psk_identity.empty()) SSL_CTX_set_psk_client_callback(c->ctx_, psk_client_cb);
  if (!options.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(c->ctx_, options.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(c->ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    error = "certificate " + options.cert_file + ": " + last_error();
    return nullptr;
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c->ctx_, options.ca_file.c_str(), nullptr) != 1) {
      error = "CA file " + options.ca_file + ": " + last_error();
      return nullptr;
    }
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  }
  return c;
}

DtlsClientContext::~DtlsClientContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

DtlsClient::DtlsClient(std::shared_ptr<DtlsClientContext> context, Sink sink, Receiver receiver)
    : context_(std::move(context)), receiver_(std::move(receiver)) {
  bio_.sink = std::move(sink);
  bio_.mtu = context_->options().mtu;
}

DtlsClient::~DtlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void DtlsClient::connect(SSL_SESSION* resume) {
  if (ssl_ != nullptr) SSL_free(ssl_);
  established_ = failed_ = false;
  error_.clear();
  ssl_ = SSL_new(context_->get());
  BIO* bio = new_datagram_bio(&bio_);
  if (ssl_ == nullptr || bio == nullptr) {
    failed_ = true;
    error_ = "out of memory";
    return;
  }
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_mtu(ssl_, static_cast<long>(bio_.mtu));
  if (resume != nullptr) SSL_set_session(ssl_, resume);
  SSL_set_connect_state(ssl_);
  drive();
}

void DtlsClient::on_datagram(std::span<const std::uint8_t> datagram) {
  if (ssl_ == nullptr || failed_) return;
  feed_datagram(bio_, datagram);
  drive();
  feed_datagram(bio_, {});
}

void DtlsClient::on_tick() {
  if (ssl_ != nullptr && !established_ && !failed_ && DTLSv1_handle_timeout(ssl_) < 0) {
    failed_ = true;
    error_ = "retransmissions exhausted: " + last_error();
  }
}

void DtlsClient::drive() {
  if (!established_) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        failed_ = true;
        error_ = last_error();
      }
      return;
    }
    established_ = true;
  }
  std::uint8_t plain[65536];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, plain, sizeof plain);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, n);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        failed_ = true;
        established_ = false;
        error_ = err == SSL_ERROR_ZERO_RETURN ? "closed by the gateway" : last_error();
      }
      return;
    }
    if (receiver_) receiver_({plain, static_cast<std::size_t>(n)});
  }
}

bool DtlsClient::send(std::span<const std::uint8_t> plain) {
  if (!established_) return false;
  ERR_clear_error();
  return SSL_write(ssl_, plain.data(), static_cast<int>(plain.size())) > 0;
}

void DtlsClient::close_notify() {
  if (established_) SSL_shutdown(ssl_);
  established_ = false;
}

bool DtlsClient::resumed() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

SSL_SESSION* DtlsClient::session() const {
  return ssl_ != nullptr ? SSL_get1_session(ssl_) : nullptr;
}

}  // namespace mqttsn::radio
