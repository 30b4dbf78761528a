// The XBee link on a real pseudo-terminal: the test plays the coordinator on the master side.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <variant>

#include "radio/xbee_link.hpp"
#include "radio_test_support.hpp"

using namespace mqttsn::radio;
using mqttsn::LinkAddress;
using radio_test::ByteVec;
using radio_test::Loop;
using radio_test::Pty;
using radio_test::run_until;
using radio_test::vector_named;
using ms = std::chrono::milliseconds;

namespace {

constexpr std::uint64_t kNode = 0x0013A20040522BAAull;

struct Received {
  LinkAddress from;
  ByteVec data;
};

struct Harness {
  Loop loop;
  Pty pty;
  std::vector<Received> received;
  std::vector<LinkAddress> failures;
  std::unique_ptr<XbeeLink> link;
  ByteVec written;  // what the link wrote to the radio

  explicit Harness(xbee::ApiMode mode, bool query = false, ms tx_timeout = ms(5000)) {
    XbeeLinkOptions o;
    o.serial.device = pty.slave_path;
    o.serial.baud = 115200;
    o.api_mode = mode;
    o.query_radio = query;
    o.tx_status_timeout = tx_timeout;
    link =
        std::make_unique<XbeeLink>(3, o,
                                   LinkCallbacks{[this](const LinkAddress& from, mqttsn::Bytes d) {
                                                   received.push_back({from, ByteVec(d.begin(), d.end())});
                                                 },
                                                 [this](const LinkAddress& to) { failures.push_back(to); }});
    REQUIRE(link->start(loop.get()) == 0);
    REQUIRE(link->is_up());
  }
  ~Harness() { link->close(); }

  bool wait_received(std::size_t n) {
    return run_until(loop.get(), [&] { return received.size() >= n; });
  }
  // Waits until the link has written `n` complete frames; returns them (frame data).
  std::vector<ByteVec> wait_frames(std::size_t n, xbee::ApiMode mode) {
    std::vector<ByteVec> frames;
    run_until(loop.get(), [&] {
      pty.read_into(written);
      xbee::Decoder d(mode);
      frames.clear();
      d.feed(
          written, [&](std::span<const std::uint8_t> f) { frames.emplace_back(f.begin(), f.end()); },
          [](xbee::DecodeError) {});
      return frames.size() >= n;
    });
    return frames;
  }
};

}  // namespace

TEST_CASE("xbee link, API 1: 0x90 in, 0x10 out byte for byte, 0x8B success and failure") {
  Harness h(xbee::ApiMode::unescaped);
  h.pty.write(vector_named("xbee_api1_rx_publish").bytes);
  REQUIRE(h.wait_received(1));
  CHECK(h.received[0].from == LinkAddress::xbee(3, kNode));
  CHECK(h.received[0].from.xbee16 == 0x7D84);
  CHECK(h.received[0].data == ByteVec{0x09, 0x0C, 0x20, 0x00, 0x01, 0x00, 0x02, 0x32, 0x32});
  REQUIRE(h.link->node(kNode) != nullptr);
  CHECK(h.link->node(kNode)->address16 == 0x7D84);

  // The reply goes to the node's remembered 16-bit address, with frame id 1.
  const ByteVec connack = {0x03, 0x05, 0x00};
  CHECK(h.link->send(LinkAddress::xbee(3, kNode), connack));
  const auto& expected = vector_named("xbee_api1_tx_connack").bytes;
  run_until(h.loop.get(), [&] {
    h.pty.read_into(h.written);
    return h.written.size() >= expected.size();
  });
  CHECK(h.written == expected);
  CHECK(h.link->pending_tx_status() == 1);

  h.pty.write(vector_named("xbee_api1_txstatus_ok").bytes);
  REQUIRE(run_until(h.loop.get(), [&] { return h.link->pending_tx_status() == 0; }));
  CHECK(h.link->node(kNode)->tx_ok == 1);
  CHECK(h.failures.empty());

  // Frame id 2 fails with "address not found": counted per node and reported.
  CHECK(h.link->send(LinkAddress::xbee(3, kNode), connack));
  h.pty.write(vector_named("xbee_api1_txstatus_addr_not_found").bytes);
  REQUIRE(run_until(h.loop.get(), [&] { return !h.failures.empty(); }));
  CHECK(h.failures[0] == LinkAddress::xbee(3, kNode));
  CHECK(h.link->node(kNode)->tx_failures == 1);
  CHECK(h.link->stats().tx_failures == 1);
  // After "address not found" the 16-bit address is rediscovered by the radio.
  CHECK(h.link->node(kNode)->address16 == 0xFFFE);

  // Modem status and an unknown frame type are counted, nothing delivered.
  h.pty.write(vector_named("xbee_api1_modem_coord_started").bytes);
  ByteVec unknown(16);
  unknown.resize(xbee::encode_frame(ByteVec{0xA1, 0x01}, xbee::ApiMode::unescaped, unknown));
  h.pty.write(unknown);
  REQUIRE(run_until(h.loop.get(), [&] { return h.link->stats().unknown_frames == 1; }));
  CHECK(h.link->stats().modem_status == 1);
  CHECK(h.received.size() == 1);
  CHECK(h.link->stats().datagrams_in == 1);
  CHECK(h.link->stats().datagrams_out == 2);
}

TEST_CASE("xbee link, API 2: escaped frames in and out, broadcast out") {
  Harness h(xbee::ApiMode::escaped);
  h.pty.write(vector_named("xbee_api2_rx_publish").bytes);
  REQUIRE(h.wait_received(1));
  CHECK(h.received[0].from.xbee16 == 0x7D84);
  CHECK(h.link->send(LinkAddress::xbee(3, kNode), ByteVec{0x03, 0x05, 0x00}));
  const ByteVec advertise = {0x05, 0x00, 0x01, 0x03, 0x84};
  CHECK(h.link->broadcast(advertise, 0));
  ByteVec expected = vector_named("xbee_api2_tx_connack").bytes;
  const auto& adv = vector_named("xbee_api2_tx_advertise_bcast").bytes;
  expected.insert(expected.end(), adv.begin(), adv.end());
  run_until(h.loop.get(), [&] {
    h.pty.read_into(h.written);
    return h.written.size() >= expected.size();
  });
  CHECK(h.written == expected);
  CHECK(h.link->stats().broadcasts_out == 1);
}

TEST_CASE("xbee link: frames split at every position, many per write, garbage, bad checksums") {
  for (xbee::ApiMode mode : {xbee::ApiMode::unescaped, xbee::ApiMode::escaped}) {
    CAPTURE(static_cast<int>(mode));
    Harness h(mode);
    const ByteVec& frame =
        vector_named(mode == xbee::ApiMode::escaped ? "xbee_api2_rx_publish" : "xbee_api1_rx_publish").bytes;
    std::size_t expected = 0;
    // Each split point: first part, let the link read it, then the rest.
    for (std::size_t cut = 1; cut < frame.size(); ++cut) {
      const auto before = h.link->stats().bytes_in;
      h.pty.write(std::span(frame).first(cut));
      REQUIRE(run_until(h.loop.get(), [&] { return h.link->stats().bytes_in >= before + cut; }));
      h.pty.write(std::span(frame).subspan(cut));
      REQUIRE(h.wait_received(++expected));
    }
    // Several frames, garbage and a bad-checksum frame in one write.
    ByteVec burst;
    const ByteVec garbage = {0x00, 0x42, 0x11};
    ByteVec bad = frame;
    bad.back() = static_cast<std::uint8_t>(bad.back() + 1);
    for (int i = 0; i < 3; ++i) burst.insert(burst.end(), frame.begin(), frame.end());
    burst.insert(burst.end(), garbage.begin(), garbage.end());
    burst.insert(burst.end(), bad.begin(), bad.end());
    burst.insert(burst.end(), frame.begin(), frame.end());
    h.pty.write(burst);
    expected += 4;
    REQUIRE(h.wait_received(expected));
    CHECK(h.link->stats().bad_checksum == 1);
    CHECK(h.link->stats().garbage_bytes >= 3);
    for (const auto& r : h.received) CHECK(r.data.size() == 9);
  }
}

TEST_CASE("xbee link: broadcast receive (SEARCHGW) is delivered like a unicast") {
  Harness h(xbee::ApiMode::unescaped);
  h.pty.write(vector_named("xbee_api1_rx_searchgw_bcast").bytes);
  REQUIRE(h.wait_received(1));
  CHECK(h.received[0].data == ByteVec{0x03, 0x01, 0x01});
  CHECK(h.received[0].from.xbee64() == kNode);
}

TEST_CASE("xbee link: AT queries at start set the max payload, oversized datagrams are refused") {
  Harness h(xbee::ApiMode::unescaped, /*query=*/true);
  const auto at = h.wait_frames(8, xbee::ApiMode::unescaped);
  REQUIRE(at.size() == 8);
  std::vector<std::string> names;
  for (const auto& f : at) {
    const auto cmd = std::get<xbee::AtCommand>(xbee::parse_frame(f));
    names.emplace_back(cmd.name());
  }
  CHECK(names == std::vector<std::string>{"NP", "SH", "SL", "AP", "VR", "HV", "OP", "CH"});
  CHECK(h.link->max_payload() == 255);

  // The radio answers NP = 84 (no fragmentation), SH/SL, AP = 1.
  auto answer = [&](const xbee::AtCommand& q, ByteVec value) {
    ByteVec fd = {0x88, q.frame_id, static_cast<std::uint8_t>(q.command[0]),
                  static_cast<std::uint8_t>(q.command[1]), 0x00};
    fd.insert(fd.end(), value.begin(), value.end());
    ByteVec wire(64);
    wire.resize(xbee::encode_frame(fd, xbee::ApiMode::unescaped, wire));
    h.pty.write(wire);
  };
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[0])), {0x00, 0x54});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[1])), {0x00, 0x13, 0xA2, 0x00});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[2])), {0x41, 0x00, 0x00, 0x01});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[3])), {0x01});
  REQUIRE(run_until(h.loop.get(), [&] { return h.link->radio().ap == 1; }));
  CHECK(h.link->radio().np == 84);
  CHECK(h.link->radio().address64() == 0x0013A20041000001ull);
  CHECK(h.link->max_payload() == 84);

  // The operator's facts: firmware, hardware, operating PAN id and channel.
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[4])), {0x40, 0x61});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[5])), {0x1E, 0x46});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[6])), {0, 0, 0, 0, 0, 0, 0x12, 0x34});
  answer(std::get<xbee::AtCommand>(xbee::parse_frame(at[7])), {0x0F});
  REQUIRE(run_until(h.loop.get(), [&] { return h.link->radio().ch == 0x0F; }));
  const auto facts = h.link->facts();
  const std::vector<std::pair<std::string, std::string>> expected{{"firmware", "4061"},
                                                                  {"hardware", "1E46"},
                                                                  {"address64", "0013A20041000001"},
                                                                  {"pan_id", "0000000000001234"},
                                                                  {"channel", "0F"},
                                                                  {"max_payload_np", "84"},
                                                                  {"api_mode", "1"}};
  CHECK(facts == expected);

  const std::size_t before = h.written.size();
  CHECK_FALSE(h.link->send(LinkAddress::xbee(3, kNode), ByteVec(85, 0x20)));
  CHECK(h.link->stats().oversize_refused == 1);
  CHECK(h.link->send(LinkAddress::xbee(3, kNode), ByteVec(84, 0x20)));
  const auto frames = h.wait_frames(9, xbee::ApiMode::unescaped);
  REQUIRE(frames.size() == 9);
  CHECK(h.written.size() > before);
  const auto tx = std::get<xbee::TxRequest>(xbee::parse_frame(frames[8]));
  CHECK(tx.data.size() == 84);
  CHECK(tx.frame_id == 9);     // AT queries used 1..8
  CHECK(tx.dest16 == 0xFFFE);  // the node has not been heard yet
}

TEST_CASE("xbee link: a transmit status that never comes counts as a delivery failure") {
  Harness h(xbee::ApiMode::unescaped, false, ms(40));
  CHECK(h.link->send(LinkAddress::xbee(3, kNode), ByteVec{0x02, 0x17}));
  REQUIRE(run_until(h.loop.get(), [&] { return !h.failures.empty(); }));
  CHECK(h.link->stats().tx_status_timeouts == 1);
  CHECK(h.link->stats().tx_failures == 1);
  CHECK(h.link->node(kNode)->tx_failures == 1);
}

namespace {

// A directory with a symlink the test re-points at a new pty: a USB radio that is pulled and
// plugged back in shows up the same way under /dev/serial/by-id/.
struct SymlinkDir {
  std::filesystem::path dir;
  std::filesystem::path link;
  SymlinkDir() {
    char tmpl[] = "/tmp/radio-test-XXXXXX";
    dir = mkdtemp(tmpl);
    link = dir / "xbee";
  }
  ~SymlinkDir() { std::filesystem::remove_all(dir); }
  void point_to(const std::string& target) const {
    const auto tmp = dir / "xbee.new";
    std::filesystem::remove(tmp);
    std::filesystem::create_symlink(target, tmp);
    std::filesystem::rename(tmp, link);  // atomic re-point
  }
};

}  // namespace

TEST_CASE("xbee link: unplug, then a new device at the same path: reopens, traffic flows again") {
  SymlinkDir dev;
  auto pty1 = std::make_unique<Pty>();
  dev.point_to(pty1->slave_path);
  Loop loop;
  std::vector<ByteVec> received;
  XbeeLinkOptions o;
  o.serial.device = dev.link.string();
  o.serial.reopen_initial = ms(20);
  o.serial.reopen_max = ms(80);
  o.api_mode = xbee::ApiMode::unescaped;
  o.query_radio = false;
  XbeeLink link(
      0, o,
      LinkCallbacks{[&](const LinkAddress&, mqttsn::Bytes d) { received.emplace_back(d.begin(), d.end()); },
                    {}});
  REQUIRE(link.start(loop.get()) == 0);
  REQUIRE(link.is_up());
  const ByteVec& frame = vector_named("xbee_api1_rx_searchgw_bcast").bytes;
  pty1->write(frame);
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 1; }));

  // Pull the radio out: the master side closes, the pts node disappears.
  pty1.reset();
  dev.point_to((dev.dir / "gone").string());  // never another test's reused /dev/pts number
  REQUIRE(run_until(loop.get(), [&] { return link.stats().unplugs == 1; }));
  CHECK_FALSE(link.is_up());
  // Sending meanwhile fails cleanly and is counted.
  CHECK_FALSE(link.send(LinkAddress::xbee(0, kNode), ByteVec{0x02, 0x17}));
  CHECK(link.stats().not_open_drops == 1);
  // While it is gone, reopen attempts fail (the symlink dangles) and are counted.
  REQUIRE(run_until(loop.get(), [&] { return link.stats().reopen_attempts >= 2; }));
  CHECK_FALSE(link.is_up());

  // Plug a "new" radio in at the same path.
  Pty pty2;
  dev.point_to(pty2.slave_path);
  REQUIRE(run_until(loop.get(), [&] { return link.is_up(); }));
  CHECK(link.stats().opens == 2);
  CHECK(link.stats().unplugs == 1);
  pty2.write(frame);
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 2; }));
  CHECK(link.send(LinkAddress::xbee(0, kNode), ByteVec{0x02, 0x17}));
  ByteVec out;
  REQUIRE(run_until(loop.get(), [&] {
    pty2.read_into(out);
    return out.size() >= 16;
  }));
  CHECK(out[3] == 0x10);
  link.close();
}

TEST_CASE("xbee link: a device missing at start is reported and retried until it appears") {
  SymlinkDir dev;
  Loop loop;
  XbeeLinkOptions o;
  o.serial.device = dev.link.string();
  o.serial.reopen_initial = ms(10);
  o.serial.reopen_max = ms(40);
  o.query_radio = false;
  XbeeLink link(1, o, LinkCallbacks{});
  REQUIRE(link.start(loop.get()) == 0);  // not fatal
  CHECK_FALSE(link.is_up());
  CHECK(link.stats().open_failures == 1);
  REQUIRE(run_until(loop.get(), [&] { return link.stats().reopen_attempts >= 3; }));
  Pty pty;
  dev.point_to(pty.slave_path);
  REQUIRE(run_until(loop.get(), [&] { return link.is_up(); }));
  link.close();

  const std::string denied = SerialPort::describe_open_error(EACCES, "/dev/ttyUSB0");
  CHECK(denied.find("/dev/ttyUSB0") != std::string::npos);
  CHECK(denied.find("dialout") != std::string::npos);
  CHECK(SerialPort::describe_open_error(ENOENT, "/dev/ttyUSB9").find("plugged") != std::string::npos);
}

namespace {

// A listening TCP socket standing in for ser2net.
struct TcpServer {
  int listener = -1;
  std::uint16_t port = 0;
  TcpServer() {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~TcpServer() { ::close(listener); }
  int accept_one() const { return ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK); }
};

}  // namespace

TEST_CASE("xbee link over tcp://host:port (ser2net): frames both ways, reconnect after a drop") {
  TcpServer server;
  Loop loop;
  std::vector<ByteVec> received;
  XbeeLinkOptions o;
  o.serial.device = "tcp://127.0.0.1:" + std::to_string(server.port);
  o.serial.reopen_initial = ms(20);
  o.api_mode = xbee::ApiMode::escaped;
  o.query_radio = false;
  XbeeLink link(
      0, o,
      LinkCallbacks{[&](const LinkAddress&, mqttsn::Bytes d) { received.emplace_back(d.begin(), d.end()); },
                    {}});
  REQUIRE(link.start(loop.get()) == 0);
  int conn = -1;
  REQUIRE(run_until(loop.get(), [&] {
    if (conn < 0) conn = server.accept_one();
    return conn >= 0 && link.is_up();
  }));
  const ByteVec& frame = vector_named("xbee_api2_rx_publish").bytes;
  REQUIRE(::write(conn, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size()));
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 1; }));
  CHECK(link.send(LinkAddress::xbee(0, kNode), ByteVec{0x03, 0x05, 0x00}));
  const ByteVec& expected = vector_named("xbee_api2_tx_connack").bytes;
  ByteVec got;
  REQUIRE(run_until(loop.get(), [&] {
    std::uint8_t buf[256];
    const ssize_t n = ::read(conn, buf, sizeof buf);
    if (n > 0) got.insert(got.end(), buf, buf + n);
    return got.size() >= expected.size();
  }));
  CHECK(got == expected);

  ::close(conn);  // ser2net drops the connection
  REQUIRE(run_until(loop.get(), [&] { return link.stats().unplugs == 1; }));
  conn = -1;
  REQUIRE(run_until(loop.get(), [&] {
    if (conn < 0) conn = server.accept_one();
    return conn >= 0 && link.is_up();
  }));
  REQUIRE(::write(conn, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size()));
  REQUIRE(run_until(loop.get(), [&] { return received.size() == 2; }));
  ::close(conn);
  link.close();
}
