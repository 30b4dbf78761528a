// The datagram BIO on its own, and a whole DTLS handshake over two of them in memory: one datagram
// per read, one datagram per write, the MTU honoured, nothing lost between the two sides.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <cstring>
#include <deque>
#include <vector>

#include "radio/dtls_bio.hpp"
#include "radio/dtls_client.hpp"

using namespace mqttsn::radio;
using ByteVec = std::vector<std::uint8_t>;

TEST_CASE("datagram bio: a read returns the fed datagram once, then asks to retry") {
  DatagramBioState state;
  BIO* bio = new_datagram_bio(&state);
  REQUIRE(bio != nullptr);
  char buf[64];
  CHECK(BIO_read(bio, buf, sizeof buf) == -1);
  CHECK(BIO_should_retry(bio));
  const ByteVec d = {1, 2, 3, 4, 5};
  feed_datagram(state, d);
  CHECK(BIO_ctrl_pending(bio) == 5);
  CHECK(BIO_read(bio, buf, sizeof buf) == 5);
  CHECK(std::memcmp(buf, d.data(), 5) == 0);
  CHECK(BIO_read(bio, buf, sizeof buf) == -1);
  CHECK(BIO_should_retry(bio));
  // A datagram longer than the read is cut, like recvfrom; the rest is not returned later.
  feed_datagram(state, d);
  CHECK(BIO_read(bio, buf, 2) == 2);
  CHECK(BIO_read(bio, buf, sizeof buf) == -1);
  BIO_free(bio);
}

TEST_CASE("datagram bio: each write is one datagram to the sink, and MTU queries answer the configured MTU") {
  std::vector<ByteVec> out;
  DatagramBioState state;
  state.mtu = 512;
  state.sink = [&](std::span<const std::uint8_t> d) { out.emplace_back(d.begin(), d.end()); };
  BIO* bio = new_datagram_bio(&state);
  CHECK(BIO_write(bio, "abc", 3) == 3);
  CHECK(BIO_write(bio, "de", 2) == 2);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == ByteVec{'a', 'b', 'c'});
  CHECK(BIO_ctrl(bio, BIO_CTRL_DGRAM_QUERY_MTU, 0, nullptr) == 512);
  CHECK(BIO_ctrl(bio, BIO_CTRL_WPENDING, 0, nullptr) == 0);
  CHECK(BIO_flush(bio) == 1);
  BIO_free(bio);
}

namespace {

const ByteVec kKey = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};

unsigned int server_psk(SSL*, const char* identity, unsigned char* psk, unsigned int max_len) {
  if (std::strcmp(identity, "n1") != 0 || kKey.size() > max_len) return 0;
  std::memcpy(psk, kKey.data(), kKey.size());
  return static_cast<unsigned>(kKey.size());
}

}  // namespace

TEST_CASE("datagram bio: a DTLS 1.2 PSK handshake and data both ways over two bios in memory") {
  constexpr std::size_t kMtu = 300;
  std::deque<ByteVec> to_server, to_client;

  SSL_CTX* sctx = SSL_CTX_new(DTLS_server_method());
  SSL_CTX_set_options(sctx, SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_psk_server_callback(sctx, server_psk);
  SSL* server = SSL_new(sctx);
  DatagramBioState sstate;
  sstate.mtu = kMtu;
  sstate.sink = [&](std::span<const std::uint8_t> d) { to_client.emplace_back(d.begin(), d.end()); };
  BIO* sbio = new_datagram_bio(&sstate);
  SSL_set_bio(server, sbio, sbio);
  SSL_set_mtu(server, kMtu);
  SSL_set_accept_state(server);

  DtlsClientOptions co;
  co.psk_identity = "n1";
  co.psk_key = kKey;
  co.mtu = kMtu;
  std::string error;
  auto cctx = DtlsClientContext::make(co, error);
  REQUIRE(cctx);
  std::vector<ByteVec> client_got;
  DtlsClient client(
      cctx, [&](std::span<const std::uint8_t> d) { to_server.emplace_back(d.begin(), d.end()); },
      [&](std::span<const std::uint8_t> d) { client_got.emplace_back(d.begin(), d.end()); });
  client.connect();

  bool server_done = false;
  for (int round = 0; round < 20 && !(server_done && client.established()); ++round) {
    while (!to_server.empty()) {
      const ByteVec d = std::move(to_server.front());
      to_server.pop_front();
      CHECK(d.size() <= kMtu);
      feed_datagram(sstate, d);
      if (!server_done) server_done = SSL_do_handshake(server) == 1;
    }
    while (!to_client.empty()) {
      const ByteVec d = std::move(to_client.front());
      to_client.pop_front();
      CHECK(d.size() <= kMtu);
      client.on_datagram(d);
    }
  }
  REQUIRE(server_done);
  REQUIRE(client.established());
  CHECK(std::string(SSL_get_psk_identity(server)) == "n1");

  const ByteVec ping = {0x02, 0x16};
  REQUIRE(client.send(ping));
  REQUIRE(to_server.size() == 1);  // one record, one datagram
  feed_datagram(sstate, to_server.front());
  std::uint8_t buf[64];
  CHECK(SSL_read(server, buf, sizeof buf) == 2);
  CHECK(SSL_write(server, "\x02\x17", 2) == 2);
  REQUIRE(to_client.size() == 1);
  client.on_datagram(to_client.front());
  REQUIRE(client_got.size() == 1);
  CHECK(client_got[0] == ByteVec{0x02, 0x17});

  SSL_free(server);
  SSL_CTX_free(sctx);
}
