// The coordinator on a real pseudo-terminal, driven by a real libuv loop: the test plays the
// gateway on the slave side (through the --link symlink), writes 0x10 / 0x08 frames and reads the
// 0x8B / 0x88 / 0x90 frames back; a NodeClient behind the coordinator connects through it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "radio/xbee_frame.hpp"
#include "sim_test_util.hpp"
#include "tools/sim/node_client.hpp"
#include "tools/sim/xbee_coordinator_pty.hpp"

namespace xb = mqttsn::radio::xbee;
using mqttsn::sim::CoordinatorConfig;
using mqttsn::sim::XbeeCoordinatorPty;
using sim_test::hex;
using sim_test::to_hex;

namespace {

std::string temp_link() {
  auto dir = std::filesystem::temp_directory_path() /
             ("mqttsn-sim-test-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return (dir / "xbee").string();
}

// The gateway's side of the line: the slave device, raw, non-blocking, plus a frame decoder.
struct GatewaySide {
  int fd = -1;
  xb::Decoder decoder;
  std::vector<std::vector<std::uint8_t>> frames;

  GatewaySide(const std::string& path, xb::ApiMode mode) : decoder(mode) {
    fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    REQUIRE(fd >= 0);
    termios t{};
    ::tcgetattr(fd, &t);
    ::cfmakeraw(&t);
    ::tcsetattr(fd, TCSANOW, &t);
  }
  ~GatewaySide() {
    if (fd >= 0) ::close(fd);
  }
  void write_bytes(const std::vector<std::uint8_t>& b) {
    REQUIRE(::write(fd, b.data(), b.size()) == (ssize_t)b.size());
  }
  void read_available() {
    std::uint8_t buf[1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      decoder.feed(
          std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)),
          [&](std::span<const std::uint8_t> f) { frames.emplace_back(f.begin(), f.end()); }, [](auto) {});
    }
  }
};

// Runs the loop and reads the gateway side until `done` holds or 5 s pass. No fixed sleeps.
template <class Done>
bool run_until(uv_loop_t* loop, GatewaySide& gw, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    uv_run(loop, UV_RUN_NOWAIT);
    gw.read_available();
    if (done()) return true;
    pollfd p[2] = {{uv_backend_fd(loop), POLLIN, 0}, {gw.fd, POLLIN, 0}};
    ::poll(p, 2, 20);
  }
  return false;
}

struct LoopFixture {
  uv_loop_t loop{};
  LoopFixture() { uv_loop_init(&loop); }
  ~LoopFixture() {
    uv_run(&loop, UV_RUN_NOWAIT);  // close callbacks
    uv_loop_close(&loop);
  }
};

}  // namespace

TEST_CASE("pty: a 0x10 frame reaches the node and the 0x8B status comes back, AT queries answered") {
  LoopFixture lf;
  const std::string link = temp_link();
  {
    CoordinatorConfig cfg;
    cfg.mode = xb::ApiMode::escaped;
    XbeeCoordinatorPty pty(&lf.loop, cfg, {{0x0013A20040522BAAull, 0x7D84}});
    std::string err;
    REQUIRE_MESSAGE(pty.open(link, err), err);
    CHECK(std::filesystem::read_symlink(link).string() == pty.device_path());

    std::vector<std::pair<std::size_t, std::string>> got;
    pty.set_receiver([&](std::size_t node, mqttsn::Bytes d) { got.emplace_back(node, to_hex(d)); });
    int host_frames = 0;
    pty.set_on_host_frames([&] { ++host_frames; });

    GatewaySide gw(link, xb::ApiMode::escaped);
    gw.write_bytes(hex("7E 00 04 08 01 41 50 65"));  // AT AP?
    REQUIRE(run_until(&lf.loop, gw, [&] { return gw.frames.size() == 1; }));
    CHECK(to_hex(gw.frames[0]) == "88 01 41 50 00 02");

    gw.write_bytes(
        hex("7E 00 7D 31 10 01 00 7D 33 A2 00 40 52 2B AA 7D 5D 84 00 00 03 05 00 C9"));  // CONNACK
    REQUIRE(run_until(&lf.loop, gw, [&] { return gw.frames.size() == 2 && got.size() == 1; }));
    CHECK(to_hex(gw.frames[1]) == "8B 01 7D 84 00 00 00");
    CHECK(got[0].first == 0);
    CHECK(got[0].second == "03 05 00");
    CHECK(host_frames == 2);

    pty.send(0, mqttsn::sim::Datagram{hex("03 01 00"), true});
    REQUIRE(run_until(&lf.loop, gw, [&] { return gw.frames.size() == 3; }));
    CHECK(to_hex(gw.frames[2]) == "90 00 13 A2 00 40 52 2B AA 7D 84 02 03 01 00");
    pty.close();
    CHECK(!std::filesystem::exists(std::filesystem::symlink_status(link)));  // link removed at close
  }
  std::filesystem::remove_all(std::filesystem::path(link).parent_path());
}

TEST_CASE("pty: a NodeClient connects through the coordinator (API 1)") {
  LoopFixture lf;
  const std::string link = temp_link();
  {
    CoordinatorConfig cfg;
    cfg.mode = xb::ApiMode::unescaped;
    const auto addr = mqttsn::sim::default_node_address(2);
    CHECK(addr.addr64 == 0x0013A20000000003ull);
    XbeeCoordinatorPty pty(&lf.loop, cfg, {addr});
    std::string err;
    REQUIRE_MESSAGE(pty.open(link, err), err);
    mqttsn::sim::NodeConfig nc;
    nc.client_id = "node3";
    mqttsn::sim::NodeClient node(nc);
    auto flush = [&] {
      for (auto& d : node.take_datagrams()) pty.send(0, d);
    };
    pty.set_receiver([&](std::size_t, mqttsn::Bytes d) {
      node.on_datagram(d, mqttsn::Millis(0));
      flush();
    });
    GatewaySide gw(link, xb::ApiMode::unescaped);
    node.connect(mqttsn::Millis(0));
    flush();
    REQUIRE(run_until(&lf.loop, gw, [&] { return gw.frames.size() == 1; }));
    CHECK(to_hex(gw.frames[0]) == "90 00 13 A2 00 00 00 00 03 10 03 01 0B 04 04 01 00 3C 6E 6F 64 65 33");
    // CONNACK to 0013A20000000003 with Dest16 unknown: the status reports the discovered address.
    const std::uint8_t tx[] = {0x10, 0x05, 0x00, 0x13, 0xA2, 0x00, 0x00, 0x00, 0x00,
                               0x03, 0xFF, 0xFE, 0x00, 0x00, 0x03, 0x05, 0x00};
    std::vector<std::uint8_t> buf(64);
    buf.resize(xb::encode_frame(tx, xb::ApiMode::unescaped, buf));
    gw.write_bytes(buf);
    REQUIRE(run_until(&lf.loop, gw, [&] { return node.state() == mqttsn::sim::NodeClient::State::active; }));
    REQUIRE(run_until(&lf.loop, gw, [&] { return gw.frames.size() == 2; }));
    CHECK(to_hex(gw.frames[1]) == "8B 05 10 03 00 00 01");
    pty.close();
  }
  std::filesystem::remove_all(std::filesystem::path(link).parent_path());
}
