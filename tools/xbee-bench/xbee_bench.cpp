// Decoder throughput on a recorded-style stream of 0x90 Receive Packet frames carrying MQTT-SN
// PUBLISHes from 50 nodes, in API mode 1 and 2, compared with a 921,600-baud serial line
// (8N1: 92,160 bytes/s). Each frame is also parsed into its typed fields, as the link does.
//
// Usage: mqttsn-xbee-bench [seconds per mode, default 2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <variant>
#include <vector>

#include "radio/xbee_frame.hpp"

using namespace mqttsn::radio::xbee;

namespace {

constexpr double kLineBytesPerSecond = 921600.0 / 10.0;  // 8 data bits + start + stop

std::vector<std::uint8_t> record_stream(ApiMode mode, std::size_t frames, std::size_t& payload) {
  std::mt19937 rng(42);
  std::vector<std::uint64_t> nodes;
  for (int i = 0; i < 50; ++i) nodes.push_back(0x0013A20040000000ull | rng());
  std::vector<std::uint8_t> stream;
  std::vector<std::uint8_t> fd;
  std::vector<std::uint8_t> wire(max_encoded_size(512, mode));
  payload = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    const std::uint64_t src = nodes[rng() % nodes.size()];
    const auto src16 = static_cast<std::uint16_t>(rng());
    const std::size_t data_len = 4 + rng() % 40;  // sensor readings: a few to tens of octets
    fd.clear();
    fd.push_back(frame_type::rx_packet);
    for (int s = 56; s >= 0; s -= 8) fd.push_back(static_cast<std::uint8_t>(src >> s));
    fd.push_back(static_cast<std::uint8_t>(src16 >> 8));
    fd.push_back(static_cast<std::uint8_t>(src16));
    fd.push_back(i % 10 == 0 ? kRxOptionBroadcast : kRxOptionAcked);
    // MQTT-SN PUBLISH: Length, 0x0C, flags, topic id, msg id, data
    fd.push_back(static_cast<std::uint8_t>(7 + data_len));
    fd.push_back(0x0C);
    fd.push_back(0x20);
    fd.push_back(0x00);
    fd.push_back(static_cast<std::uint8_t>(1 + rng() % 20));
    fd.push_back(static_cast<std::uint8_t>(i >> 8));
    fd.push_back(static_cast<std::uint8_t>(i));
    for (std::size_t k = 0; k < data_len; ++k) fd.push_back(static_cast<std::uint8_t>(rng()));
    payload += 7 + data_len;
    const std::size_t n = encode_frame(fd, mode, wire);
    stream.insert(stream.end(), wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return stream;
}

void run(ApiMode mode, double seconds) {
  std::size_t payload = 0;
  const std::size_t frames_per_pass = 20000;
  const auto stream = record_stream(mode, frames_per_pass, payload);
  Decoder decoder(mode);
  std::uint64_t frames = 0, bytes = 0, checksum = 0, passes = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    // Serial reads hand over a few hundred bytes at a time.
    std::span<const std::uint8_t> all(stream);
    for (std::size_t pos = 0; pos < all.size(); pos += 256) {
      decoder.feed(
          all.subspan(pos, std::min<std::size_t>(256, all.size() - pos)),
          [&](std::span<const std::uint8_t> f) {
            const Frame frame = parse_frame(f);
            if (const auto* rx = std::get_if<RxPacket>(&frame)) checksum += rx->data.size();
            ++frames;
          },
          [](DecodeError) { std::abort(); });
    }
    bytes += stream.size();
    ++passes;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  if (frames != passes * frames_per_pass || checksum != passes * payload) std::abort();
  const double bps = static_cast<double>(bytes) / elapsed;
  std::printf(
      "API mode %d: %llu frames, %.1f MB in %.2f s: %.1f MB/s, %.2f M frames/s, "
      "%.0fx a 921600-baud line (92160 B/s)\n",
      static_cast<int>(mode), static_cast<unsigned long long>(frames), static_cast<double>(bytes) / 1e6,
      elapsed, bps / 1e6, static_cast<double>(frames) / elapsed / 1e6, bps / kLineBytesPerSecond);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  run(ApiMode::unescaped, seconds);
  run(ApiMode::escaped, seconds);
  return 0;
}
