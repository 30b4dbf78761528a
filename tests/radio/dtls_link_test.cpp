// The DTLS link on real UDP sockets (127.0.0.1), with nodes driven by radio/dtls_client: PSK and
// certificate handshakes, refusals, the stateless cookie exchange under a spoofed flood, malformed
// input, resumption, timeouts and discovery in clear.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include "dtls_node.hpp"
#include "radio/dtls_link.hpp"
#include "radio_test_support.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

using namespace mqttsn::radio;
using mqttsn::LinkAddress;
using radio_test::ByteVec;
using radio_test::DtlsNode;
using radio_test::Loop;
using radio_test::psk_context;
using radio_test::RawSocket;
using radio_test::run_until;
using namespace std::chrono_literals;

namespace {

const ByteVec kKeyA = {0x6c, 0x3f, 0x0a, 0x9b, 0xe1, 0xd2, 0x4f, 0x8c,
                       0x7a, 0x5e, 0x0b, 0x1d, 0x9f, 0x3c, 0x2a, 0x44};
const ByteVec kKeyB = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                       0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

DtlsLinkOptions psk_options() {
  DtlsLinkOptions o;
  o.udp.bind_address = "127.0.0.1";
  o.udp.port = 0;
  o.udp.broadcast_address = "";
  auto keys = std::make_shared<PskKeyTable>();
  (*keys)["node-a"] = kKeyA;
  (*keys)["node-b"] = kKeyB;
  o.psk_keys = keys;
  return o;
}

// A link whose received datagrams are kept, and echoed back when `echo` is set.
struct Harness {
  Loop loop;
  std::vector<std::pair<LinkAddress, ByteVec>> received;
  bool echo = true;
  DtlsLink link;

  explicit Harness(DtlsLinkOptions o)
      : link(2, std::move(o),
             LinkCallbacks{[this](const LinkAddress& from, mqttsn::Bytes d) {
                             received.emplace_back(from, ByteVec(d.begin(), d.end()));
                             if (echo) link.send(from, d);
                           },
                           {}}) {}
  ~Harness() { link.close(); }

  bool handshake(DtlsNode& node, std::chrono::milliseconds timeout = 3000ms) {
    node.client.connect();
    return run_until(
               loop.get(),
               [&] {
                 node.pump();
                 return node.client.established() || node.client.failed();
               },
               timeout) &&
           node.client.established();
  }
  bool round_trip(DtlsNode& node, const ByteVec& d) {
    const auto before = node.received.size();
    node.client.send(d);
    return run_until(loop.get(),
                     [&] {
                       node.pump();
                       return node.received.size() > before;
                     }) &&
           node.received.back() == d;
  }
};

const ByteVec kPingreq = {0x02, 0x16};

}  // namespace

TEST_CASE("dtls link: a PSK node handshakes, its datagrams go up and down, and its identity is known") {
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  CHECK(h.link.max_payload() == 1024 - kDtlsRecordOverhead);
  DtlsNode node(h.link.local_port(), psk_context("node-a", kKeyA));
  REQUIRE(h.handshake(node));
  CHECK(h.round_trip(node, kPingreq));
  REQUIRE(h.received.size() == 1);
  CHECK(h.received[0].first.port() == node.socket.port());
  CHECK(h.received[0].first.link == 2);
  CHECK(h.link.identity_of(h.received[0].first) == "node-a");
  const auto& s = h.link.stats();
  CHECK(s.dtls_handshakes_ok == 1);
  CHECK(s.dtls_cookies_sent == 1);  // one HelloVerifyRequest before any state
  CHECK(s.dtls_sessions == 1);
  CHECK(s.datagrams_in == 1);
  CHECK(s.datagrams_out == 1);
  // A datagram too large for one record under the link's max payload is refused, counted.
  CHECK_FALSE(h.link.send(h.received[0].first, ByteVec(h.link.max_payload() + 1, 0x41)));
  CHECK(h.link.stats().oversize_refused == 1);
}

TEST_CASE("dtls link: an unknown identity is refused with a reason, a wrong key never gets an association") {
  auto o = psk_options();
  o.handshake_timeout = 600ms;
  Harness h(std::move(o));
  REQUIRE(h.link.start(h.loop.get()) == 0);

  DtlsNode stranger(h.link.local_port(), psk_context("node-z", kKeyA));
  CHECK_FALSE(h.handshake(stranger));
  CHECK(run_until(h.loop.get(), [&] { return h.link.stats().dtls_failed_psk_identity == 1; }));
  CHECK(h.link.associations() == 0);

  DtlsNode impostor(h.link.local_port(), psk_context("node-a", kKeyB));  // node-a's identity, B's key
  CHECK_FALSE(h.handshake(impostor, 1500ms));
  CHECK(run_until(h.loop.get(), [&] { return h.link.stats().dtls_handshake_timeouts == 1; }));
  CHECK(h.link.associations() == 0);
  CHECK(h.link.handshakes_in_progress() == 0);
  CHECK(h.received.empty());
}

TEST_CASE("dtls link: certificates, with the client's SAN or else its CN as its identity") {
  mqttsn::test::TempDir dir("dtls-cert");
  const auto pki = mqttsn::test::make_test_pki(dir);
  const auto good = mqttsn::test::make_client_cert(dir, pki, "sensor-7");
  const auto rogue = mqttsn::test::make_client_cert(dir, pki, "rogue", true);
  DtlsLinkOptions o = psk_options();
  o.psk_keys = nullptr;
  o.cert_file = pki.server_cert;
  o.key_file = pki.server_key;
  o.ca_file = pki.ca_cert;
  o.require_client_cert = true;
  Harness h(std::move(o));
  REQUIRE(h.link.start(h.loop.get()) == 0);

  auto context = [&](const mqttsn::test::TestCert* cert) {
    DtlsClientOptions c;
    if (cert != nullptr) {
      c.cert_file = cert->cert;
      c.key_file = cert->key;
    }
    c.ca_file = pki.ca_cert;  // the node checks the gateway too
    std::string error;
    auto ctx = DtlsClientContext::make(c, error);
    REQUIRE_MESSAGE(ctx, error);
    return ctx;
  };
  DtlsNode node(h.link.local_port(), context(&good));
  REQUIRE(h.handshake(node));
  CHECK(h.round_trip(node, kPingreq));
  CHECK(h.link.identity_of(h.received.at(0).first) == "sensor-7");

  // A certificate with names in its subject alternative name is known by the first of them.
  const auto named = mqttsn::test::make_client_cert(
      dir, pki, "ignored-cn", false, {"IP:10.0.0.7", "URI:urn:dev:sensor-8", "DNS:sensor-8.lan"});
  DtlsNode san_node(h.link.local_port(), context(&named));
  REQUIRE(h.handshake(san_node));
  CHECK(h.round_trip(san_node, kPingreq));
  CHECK(h.link.identity_of(h.received.at(1).first) == "urn:dev:sensor-8");

  DtlsNode anonymous(h.link.local_port(), context(nullptr));
  CHECK_FALSE(h.handshake(anonymous));
  DtlsNode untrusted(h.link.local_port(), context(&rogue));
  CHECK_FALSE(h.handshake(untrusted));
  CHECK(run_until(h.loop.get(), [&] { return h.link.stats().dtls_failed_certificate == 2; }));
  CHECK(h.link.associations() == 2);
}

TEST_CASE(
    "dtls link: a spoofed ClientHello flood from many ports leaves no state while a real node is served") {
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  const auto port = h.link.local_port();

  // A genuine first ClientHello (no cookie), and one carrying a valid cookie for another address.
  DtlsNode real(port, psk_context("node-a", kKeyA));
  REQUIRE(h.handshake(real));
  REQUIRE(real.records.size() >= 2);
  const ByteVec hello = real.records[0];
  const ByteVec hello_with_cookie = real.records[1];
  const auto cookies_before = h.link.stats().dtls_cookies_sent;

  // The flood goes in batches, each let in before the next: a burst larger than the socket's receive
  // buffer would be dropped by the kernel (under qemu the link reads slower than a sender writes),
  // and what is dropped there tests nothing of ours.
  constexpr int kSpoofers = 300;
  constexpr int kBatch = 25;
  std::vector<std::unique_ptr<RawSocket>> spoofers;
  for (int i = 0; i < kSpoofers; ++i) {
    spoofers.push_back(std::make_unique<RawSocket>());
    spoofers.back()->send_to(port, hello);
    spoofers.back()->send_to(port, hello_with_cookie);  // a cookie made for another address
    if ((i + 1) % kBatch != 0) continue;
    const auto sent = static_cast<std::uint64_t>(i + 1);
    REQUIRE(run_until(
        h.loop.get(), [&] { return h.link.stats().dtls_cookie_mismatches >= sent; }, 10s));
    // The real node keeps being served while the flood arrives.
    if (i + 1 == kSpoofers / 2) CHECK(h.round_trip(real, kPingreq));
  }
  CHECK(h.round_trip(real, kPingreq));
  CHECK(h.link.stats().dtls_cookie_mismatches == static_cast<std::uint64_t>(kSpoofers));
  CHECK(h.link.stats().dtls_cookies_sent - cookies_before >= 300);
  CHECK(h.link.associations() == 1);
  CHECK(h.link.handshakes_in_progress() == 0);
  // And a newcomer still gets in.
  DtlsNode late(port, psk_context("node-b", kKeyB));
  CHECK(h.handshake(late));
  CHECK(h.link.associations() == 2);
}

TEST_CASE("dtls link: malformed datagrams are counted, not fatal") {
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  const auto port = h.link.local_port();
  DtlsNode node(port, psk_context("node-a", kKeyA));
  REQUIRE(h.handshake(node));

  const auto frames_before = h.link.stats().frames_in;
  RawSocket junk;
  junk.send_to(port, ByteVec{0x00});
  junk.send_to(port, ByteVec(40, 0xFF));
  ByteVec fake_record = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
  junk.send_to(port, fake_record);  // application data from a peer without an association
  ByteVec truncated_hello = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 0, 0};
  junk.send_to(port, truncated_hello);
  // Garbage and forged records from the real node's address. OpenSSL 3.0 ends an association over a
  // protected record shorter than the suite's nonce and tag: the link drops those unread.
  node.socket.send_to(port, fake_record);
  node.socket.send_to(port, ByteVec(30, 0x17));  // a record header whose length runs past the datagram
  // A forged record of a plausible length fails its tag in OpenSSL, which drops it without a word.
  ByteVec forged_full = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 40};
  forged_full.resize(13 + 40, 0x55);
  node.socket.send_to(port, forged_full);
  REQUIRE(run_until(h.loop.get(), [&] { return h.link.stats().frames_in >= frames_before + 7; }));
  CHECK(h.link.stats().malformed_frames == 2);
  CHECK(h.link.stats().dtls_stray_records == 1);
  CHECK(h.link.stats().dtls_bad_records == 2);
  CHECK(h.round_trip(node, kPingreq));  // the association survived
  CHECK(h.link.associations() == 1);
}

TEST_CASE("dtls link: AEAD suites only, CCM-8 for constrained nodes, and short forgeries never end one") {
  // Every AEAD family the link offers, each with the shortest and the longest forged record that
  // must not end the association: one octet short of nonce + tag, and one of exactly that length.
  struct Suite {
    const char* name;
    int min_record;
  };
  for (const Suite suite : {Suite{"PSK-AES128-GCM-SHA256", 24}, Suite{"PSK-AES128-CCM8", 16},
                            Suite{"PSK-AES128-CCM", 24}, Suite{"ECDHE-PSK-CHACHA20-POLY1305", 16}}) {
    CAPTURE(std::string(suite.name));
    Harness h(psk_options());
    REQUIRE(h.link.start(h.loop.get()) == 0);
    const auto port = h.link.local_port();
    auto ctx = psk_context("node-a", kKeyA);
    REQUIRE(SSL_CTX_set_cipher_list(ctx->get(), suite.name) == 1);
    DtlsNode node(port, ctx);
    REQUIRE(h.handshake(node));
    for (const int length : {1, suite.min_record - 1, suite.min_record, 64}) {
      ByteVec forged = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, static_cast<std::uint8_t>(length)};
      forged.resize(13 + static_cast<std::size_t>(length), 0x55);
      node.socket.send_to(port, forged);
    }
    const auto frames_before = h.link.stats().frames_in;
    CHECK(h.round_trip(node, kPingreq));
    CHECK(h.link.stats().frames_in > frames_before);
    CHECK(h.link.stats().dtls_bad_records == 2);
    CHECK(h.link.associations() == 1);
  }
  // CBC suites are not offered: in OpenSSL 3.0 one forged record with a bad MAC ends a CBC association.
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  auto cbc = psk_context("node-a", kKeyA);
  REQUIRE(SSL_CTX_set_cipher_list(cbc->get(), "PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA256") == 1);
  DtlsNode node(h.link.local_port(), cbc);
  CHECK_FALSE(h.handshake(node));
  CHECK(run_until(h.loop.get(), [&] { return h.link.stats().dtls_failed_no_cipher == 1; }));
}

TEST_CASE("dtls link: a late copy of the hello that began an association does not end it") {
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  const auto port = h.link.local_port();
  DtlsNode node(port, psk_context("node-a", kKeyA));
  REQUIRE(h.handshake(node));
  // The client's second ClientHello (the one with the cookie) arriving again after the handshake,
  // as a retransmission under load or a duplicate on the network does.
  std::vector<std::uint8_t> hello;
  int hellos = 0;
  for (const auto& d : node.records)
    if (d.size() > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1 && ++hellos == 2) hello = d;
  REQUIRE(hellos >= 2);
  const auto stray_before = h.link.stats().dtls_stray_records;
  node.socket.send_to(port, hello);
  REQUIRE(run_until(h.loop.get(), [&] { return h.link.stats().dtls_stray_records > stray_before; }));
  CHECK(h.link.associations() == 1);
  CHECK(h.round_trip(node, kPingreq));  // the association goes on
}

TEST_CASE("dtls link: a node that handshakes again resumes its session with a ticket") {
  Harness h(psk_options());
  REQUIRE(h.link.start(h.loop.get()) == 0);
  auto ctx = psk_context("node-a", kKeyA);
  SSL_SESSION* session = nullptr;
  std::vector<ByteVec> first_records;
  {
    DtlsNode first(h.link.local_port(), ctx);
    REQUIRE(h.handshake(first));
    session = first.client.session();
    REQUIRE(h.round_trip(first, kPingreq));
    first_records = first.records;
    first.client.close_notify();
    REQUIRE(run_until(h.loop.get(), [&] { return h.link.associations() == 0; }));
  }
  REQUIRE(session != nullptr);
  DtlsNode again(h.link.local_port(), ctx);  // another source port: a node whose address changed
  // Its records from the old address, sent from the new one, belong to no association: dropped.
  const auto received_before = h.received.size();
  const auto stray_before = h.link.stats().dtls_stray_records;
  again.socket.send_to(h.link.local_port(), first_records.back());
  REQUIRE(run_until(h.loop.get(), [&] { return h.link.stats().dtls_stray_records > stray_before; }));
  CHECK(h.received.size() == received_before);
  CHECK(h.link.associations() == 0);
  again.client.connect(session);
  REQUIRE(run_until(h.loop.get(), [&] {
    again.pump();
    return again.client.established();
  }));
  SSL_SESSION_free(session);
  CHECK(again.client.resumed());
  CHECK(h.link.stats().dtls_resumptions == 1);
  CHECK(h.link.stats().dtls_closed_by_peer == 1);
  CHECK(h.round_trip(again, kPingreq));
  CHECK(h.link.identity_of(h.received.back().first) == "node-a");
}

TEST_CASE("dtls link: idle associations without a session close, a sleeping node keeps its own") {
  auto o = psk_options();
  o.idle_timeout = 300ms;
  Harness h(std::move(o));
  h.echo = false;
  REQUIRE(h.link.start(h.loop.get()) == 0);
  DtlsNode idle(h.link.local_port(), psk_context("node-a", kKeyA));
  DtlsNode sleeper(h.link.local_port(), psk_context("node-b", kKeyB));
  REQUIRE(h.handshake(idle));
  REQUIRE(h.handshake(sleeper));
  // The sleeper connects (the gateway's CONNACK accepted goes through) and goes to sleep for an hour.
  const ByteVec connect = {0x08, 0x04, 0x04, 0x01, 0x00, 0x3C, 'b', '1'};
  sleeper.client.send(connect);
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 1; }));
  CHECK(h.link.send(h.received[0].first, ByteVec{0x03, 0x05, 0x00}));
  sleeper.client.send(ByteVec{0x04, 0x18, 0x0E, 0x10});
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 2; }));

  REQUIRE(run_until(
      h.loop.get(), [&] { return h.link.stats().dtls_idle_closed == 1; }, 3000ms));
  CHECK(h.link.associations() == 1);
  CHECK(h.link.identity_of(h.received[0].first) == "node-b");
  // It wakes (a PINGREQ) over the same association, no handshake.
  const auto handshakes = h.link.stats().dtls_handshakes_ok;
  sleeper.client.send(kPingreq);
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 3; }));
  CHECK(h.link.stats().dtls_handshakes_ok == handshakes);
}

TEST_CASE("dtls link: bounds on handshakes in progress and on associations") {
  auto o = psk_options();
  o.max_sessions = 2;
  Harness h(std::move(o));
  REQUIRE(h.link.start(h.loop.get()) == 0);
  std::vector<std::unique_ptr<DtlsNode>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(std::make_unique<DtlsNode>(h.link.local_port(), psk_context("node-a", kKeyA)));
    REQUIRE(h.handshake(*nodes.back()));
  }
  // The third took the place of the one idle the longest.
  CHECK(h.link.associations() == 2);
  CHECK(h.link.stats().dtls_evicted == 1);
  CHECK(h.round_trip(*nodes[2], kPingreq));
}

TEST_CASE("dtls link: a handshake past max_handshakes is refused until one in progress ends") {
  auto o = psk_options();
  o.max_handshakes = 1;
  Harness h(std::move(o));
  REQUIRE(h.link.start(h.loop.get()) == 0);
  // A node that got past the cookie exchange and then went quiet holds the one handshake slot.
  DtlsNode stalled(h.link.local_port(), psk_context("node-a", kKeyA));
  stalled.client.connect();
  REQUIRE(run_until(h.loop.get(), [&] {
    if (h.link.handshakes_in_progress() == 1) return true;  // before the node reads the link's flight
    stalled.pump();
    return false;
  }));
  DtlsNode refused(h.link.local_port(), psk_context("node-b", kKeyB));
  CHECK_FALSE(h.handshake(refused, 1500ms));
  CHECK(h.link.stats().dtls_refused_busy >= 1);
  CHECK(h.link.handshakes_in_progress() == 1);
  CHECK(h.link.associations() == 0);
  // The stalled one finishes; the slot is free for the next node.
  REQUIRE(run_until(h.loop.get(), [&] {
    stalled.pump();
    return stalled.client.established();
  }));
  CHECK(h.link.handshakes_in_progress() == 0);
  DtlsNode next(h.link.local_port(), psk_context("node-b", kKeyB));
  CHECK(h.handshake(next));
  CHECK(h.round_trip(next, kPingreq));
}

TEST_CASE("dtls link: discovery in clear, or not at all") {
  for (const bool clear : {true, false}) {
    CAPTURE(clear);
    auto o = psk_options();
    o.discovery_in_clear = clear;
    o.udp.broadcast_address = "127.0.0.1";
    RawSocket listener;  // stands in for the broadcast group
    o.udp.broadcast_port = listener.port();
    Harness h(std::move(o));
    h.echo = false;
    REQUIRE(h.link.start(h.loop.get()) == 0);
    RawSocket searcher;
    searcher.send_to(h.link.local_port(), ByteVec{0x03, 0x01, 0x00});  // SEARCHGW
    const bool up = run_until(
        h.loop.get(), [&] { return !h.received.empty(); }, clear ? 3000ms : 200ms);
    CHECK(up == clear);
    const LinkAddress searcher_address =
        up ? h.received[0].first : LinkAddress::udp4(2, {127, 0, 0, 1}, searcher.port());
    CHECK(h.link.send(searcher_address, ByteVec{0x03, 0x02, 0x01}) == clear);    // GWINFO
    CHECK(h.link.broadcast(ByteVec{0x05, 0x00, 0x01, 0x03, 0x84}, 0) == clear);  // ADVERTISE
    ByteVec got;
    CHECK(run_until(
              h.loop.get(), [&] { return searcher.receive(got); }, clear ? 3000ms : 200ms) == clear);
    CHECK(run_until(
              h.loop.get(), [&] { return listener.receive(got); }, clear ? 3000ms : 200ms) == clear);
    // Anything else in clear from a stranger goes nowhere.
    searcher.send_to(h.link.local_port(), kPingreq);
    run_until(
        h.loop.get(), [] { return false; }, 50ms);
    CHECK(h.received.size() == (clear ? 1u : 0u));
  }
}

TEST_CASE("dtls link: refuses to start without anything to authenticate with, or with a bad certificate") {
  auto o = psk_options();
  o.psk_keys = nullptr;
  {
    Harness h(o);
    CHECK(h.link.start(h.loop.get()) != 0);
  }
  o.cert_file = "/nonexistent.crt";
  o.key_file = "/nonexistent.key";
  Harness h(o);
  CHECK(h.link.start(h.loop.get()) != 0);
}

TEST_CASE("dtls link: a node whose session the gateway ended keeps its association only until idle") {
  auto o = psk_options();
  o.idle_timeout = 300ms;
  Harness h(std::move(o));
  h.echo = false;
  REQUIRE(h.link.start(h.loop.get()) == 0);
  DtlsNode sleeper(h.link.local_port(), psk_context("node-b", kKeyB));
  REQUIRE(h.handshake(sleeper));
  const ByteVec connect = {0x08, 0x04, 0x04, 0x01, 0x00, 0x3C, 'b', '1'};
  sleeper.client.send(connect);
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 1; }));
  const LinkAddress node = h.received[0].first;
  CHECK(h.link.send(node, ByteVec{0x03, 0x05, 0x00}));
  sleeper.client.send(ByteVec{0x04, 0x18, 0x0E, 0x10});  // asleep for an hour
  REQUIRE(run_until(h.loop.get(), [&] { return h.received.size() == 2; }));
  // Held by its session: idle longer than idle_timeout, still there.
  CHECK_FALSE(run_until(
      h.loop.get(), [&] { return h.link.stats().dtls_idle_closed > 0; }, 700ms));
  // The gateway says its session is over (its sleep timer ran out, or an operator kicked it).
  h.link.note_session(node, false);
  REQUIRE(run_until(
      h.loop.get(), [&] { return h.link.stats().dtls_idle_closed == 1; }, 3000ms));
  CHECK(h.link.associations() == 0);
  // Word about an address without an association changes nothing.
  h.link.note_session(node, true);
  CHECK(h.link.associations() == 0);
}
