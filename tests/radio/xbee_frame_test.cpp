// The XBee API codec against the shared vectors and the awkward byte streams a serial line produces.
#include <doctest/doctest.h>

#include <random>
#include <variant>

#include "radio/xbee_frame.hpp"
#include "radio_test_support.hpp"

using namespace mqttsn::radio::xbee;
using radio_test::ByteVec;
using radio_test::fields;
using radio_test::hex_value;
using radio_test::vector_named;

namespace {

struct Decoded {
  std::vector<ByteVec> frames;  // frame data of each good frame
  std::vector<DecodeError> errors;
};

Decoded decode_chunks(Decoder& d, const std::vector<std::span<const std::uint8_t>>& chunks,
                      bool finish = true) {
  Decoded out;
  for (auto chunk : chunks)
    d.feed(
        chunk, [&](std::span<const std::uint8_t> f) { out.frames.emplace_back(f.begin(), f.end()); },
        [&](DecodeError e) { out.errors.push_back(e); });
  if (finish)
    if (auto e = d.finish()) out.errors.push_back(*e);
  return out;
}

Decoded decode_all(ApiMode mode, std::span<const std::uint8_t> bytes, std::size_t max = 512) {
  Decoder d(mode, max);
  return decode_chunks(d, {bytes});
}

ApiMode mode_of(const std::string& name) {
  return name.rfind("xbee_api2_", 0) == 0 ? ApiMode::escaped : ApiMode::unescaped;
}

ByteVec encode(std::span<const std::uint8_t> frame_data, ApiMode mode) {
  ByteVec out(max_encoded_size(frame_data.size(), mode));
  out.resize(encode_frame(frame_data, mode, out));
  return out;
}

std::vector<radio_test::Vector> xbee_vectors() {
  std::vector<radio_test::Vector> out;
  for (auto& v : radio_test::load_vectors())
    if (v.name.rfind("xbee_api", 0) == 0) out.push_back(v);
  return out;
}

// Checks the decoded frame against the fields named in the vector's description.
void check_fields(const radio_test::Vector& v, const ByteVec& frame_data) {
  const auto f = fields(v.description);
  const Frame frame = parse_frame(frame_data);
  REQUIRE(f.count("frame"));
  CHECK(frame_data[0] == hex_value(f.at("frame")));
  CHECK(frame_data.size() == std::stoul(f.at("len")));
  auto rf_len = [&]() -> std::size_t {  // "PUBLISH len=9": the embedded MQTT-SN Length
    const auto inner = v.description.find("::");
    const auto pos = v.description.find("len=", inner);
    return std::stoul(v.description.substr(pos + 4));
  };
  if (const auto* rx = std::get_if<RxPacket>(&frame)) {
    CHECK(rx->src64 == hex_value(f.at("Src64")));
    CHECK(rx->src16 == hex_value(f.at("Src16")));
    CHECK(rx->options == hex_value(f.at("Opts")));
    CHECK(rx->broadcast() == (v.description.find("broadcast") != std::string::npos));
    CHECK(rx->data.size() == rf_len());
  } else if (const auto* tx = std::get_if<TxRequest>(&frame)) {
    CHECK(tx->frame_id == hex_value(f.at("FrameId")));
    CHECK(tx->dest64 == hex_value(f.at("Dst64")));
    CHECK(tx->dest16 == hex_value(f.at("Dst16")));
    CHECK(tx->radius == std::stoul(f.at("Radius")));
    CHECK(tx->options == hex_value(f.at("Opts")));
    CHECK(tx->data.size() == rf_len());
    // Host -> radio: the encoder must produce exactly the vector's bytes.
    ByteVec out(max_encoded_size(kTxRequestOverhead + tx->data.size(), mode_of(v.name)));
    out.resize(encode_tx_request(*tx, mode_of(v.name), out));
    CHECK(out == v.bytes);
    if (tx->dest64 == kBroadcast64) {
      const TxRequest b = broadcast_request(tx->frame_id, tx->radius, tx->data);
      ByteVec out2(out.size() + 8);
      out2.resize(encode_tx_request(b, mode_of(v.name), out2));
      CHECK(out2 == v.bytes);
    }
  } else if (const auto* st = std::get_if<TxStatus>(&frame)) {
    CHECK(st->frame_id == hex_value(f.at("FrameId")));
    CHECK(st->dst16 == hex_value(f.at("Dst16")));
    CHECK(st->retries == std::stoul(f.at("Retries")));
    CHECK(st->delivery == hex_value(f.at("Delivery")));
    CHECK(st->discovery == hex_value(f.at("Discovery")));
    CHECK(st->ok() == (st->delivery == 0));
  } else if (const auto* ms = std::get_if<ModemStatus>(&frame)) {
    CHECK(ms->status == hex_value(f.at("Status")));
  } else if (const auto* at = std::get_if<AtCommand>(&frame)) {
    CHECK(at->frame_id == hex_value(f.at("FrameId")));
    CHECK(at->name() == f.at("Cmd"));
    CHECK(at->parameter.empty());
    ByteVec out(64);
    out.resize(encode_at_command(at->frame_id, at->name(), at->parameter, mode_of(v.name), out));
    CHECK(out == v.bytes);
  } else if (const auto* ar = std::get_if<AtResponse>(&frame)) {
    CHECK(ar->frame_id == hex_value(f.at("FrameId")));
    CHECK(ar->name() == f.at("Cmd"));
    CHECK(ar->status == hex_value(f.at("Status")));
    const auto d = v.description.find("Data=hex[");
    REQUIRE(d != std::string::npos);
    const auto end = v.description.find(']', d);
    CHECK(ByteVec(ar->data.begin(), ar->data.end()) ==
          radio_test::parse_hex(v.description.substr(d + 9, end - d - 9)));
  } else {
    FAIL("vector " << v.name << " parsed as an unknown frame");
  }
  // Every valid frame re-encodes to the same bytes in its mode.
  CHECK(encode(frame_data, mode_of(v.name)) == v.bytes);
}

}  // namespace

TEST_CASE("xbee vectors: valid frames decode to their fields and re-encode byte for byte") {
  int checked = 0;
  for (const auto& v : xbee_vectors()) {
    if (!v.invalid_reason.empty()) continue;
    CAPTURE(v.name);
    const Decoded d = decode_all(mode_of(v.name), v.bytes);
    CHECK(d.errors.empty());
    REQUIRE(d.frames.size() == 1);
    check_fields(v, d.frames[0]);
    ++checked;
  }
  CHECK(checked >= 18);
}

TEST_CASE("xbee vectors: invalid frames give the stated reason") {
  int checked = 0;
  for (const auto& v : xbee_vectors()) {
    if (v.invalid_reason.empty()) continue;
    CAPTURE(v.name);
    const Decoded d = decode_all(mode_of(v.name), v.bytes);
    if (v.name.find("inner") != std::string::npos) {
      // A good XBee frame; the embedded MQTT-SN Length is the problem (the codec's business).
      REQUIRE(d.frames.size() == 1);
      const Frame frame = parse_frame(d.frames[0]);
      const auto* rx = std::get_if<RxPacket>(&frame);
      REQUIRE(rx != nullptr);
      CHECK(v.invalid_reason == "truncated");
      CHECK(rx->data[0] > rx->data.size());
    } else {
      CHECK(d.frames.empty());
      REQUIRE_FALSE(d.errors.empty());
      CHECK(std::string(error_name(d.errors.front())) == v.invalid_reason);
    }
    ++checked;
  }
  CHECK(checked == 7);
}

namespace {

// All valid radio->host and host->radio vectors of one mode, back to back.
ByteVec stream_of(ApiMode mode, std::vector<ByteVec>* frames_out = nullptr) {
  ByteVec all;
  for (const auto& v : xbee_vectors()) {
    if (!v.invalid_reason.empty() || mode_of(v.name) != mode) continue;
    all.insert(all.end(), v.bytes.begin(), v.bytes.end());
    if (frames_out) frames_out->push_back(decode_all(mode, v.bytes).frames.at(0));
  }
  return all;
}

}  // namespace

TEST_CASE("xbee decoder: a stream split at every byte position gives the same frames") {
  for (ApiMode mode : {ApiMode::unescaped, ApiMode::escaped}) {
    CAPTURE(static_cast<int>(mode));
    std::vector<ByteVec> expected;
    const ByteVec all = stream_of(mode, &expected);
    REQUIRE(expected.size() >= 5);
    CHECK(decode_all(mode, all).frames == expected);  // several frames in one chunk
    Decoder d(mode);
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
      std::span<const std::uint8_t> s(all);
      const Decoded got = decode_chunks(d, {s.first(cut), s.subspan(cut)});
      CAPTURE(cut);
      CHECK(got.errors.empty());
      CHECK(got.frames == expected);
    }
    std::vector<std::span<const std::uint8_t>> bytewise;
    for (std::size_t i = 0; i < all.size(); ++i) bytewise.push_back(std::span(all).subspan(i, 1));
    CHECK(decode_chunks(d, bytewise).frames == expected);
    CHECK(d.counters().frames == expected.size() * (all.size() + 2));
  }
}

TEST_CASE("xbee decoder: garbage and partial frames between good frames") {
  const ByteVec good1 = vector_named("xbee_api1_rx_publish").bytes;
  const ByteVec good2 = vector_named("xbee_api1_modem_coord_started").bytes;
  SUBCASE("API 1: garbage without delimiters is skipped and counted, one error per run") {
    ByteVec s = {0x00, 0x11, 0xFF};
    s.insert(s.end(), good1.begin(), good1.end());
    s.insert(s.end(), {0x42, 0x43});
    s.insert(s.end(), good2.begin(), good2.end());
    Decoder d(ApiMode::unescaped);
    const Decoded got = decode_chunks(d, {s});
    CHECK(got.frames.size() == 2);
    CHECK(got.errors ==
          std::vector<DecodeError>{DecodeError::no_start_delimiter, DecodeError::no_start_delimiter});
    CHECK(d.counters().garbage_bytes == 5);
  }
  SUBCASE("API 1: a partial frame that swallows a real one is rescanned after its bad checksum") {
    ByteVec s = {0x7E, 0x00, 0x08, 0x90};  // claims 8 octets, gets the start of the next frame
    s.insert(s.end(), good2.begin(), good2.end());
    s.insert(s.end(), good1.begin(), good1.end());
    Decoder d(ApiMode::unescaped);
    const Decoded got = decode_chunks(d, {s});
    REQUIRE(got.frames.size() == 2);
    CHECK(got.frames[0] == ByteVec{0x8A, 0x06});
    CHECK(got.frames[1][0] == 0x90);
    CHECK(d.counters().bad_checksum == 1);
  }
  SUBCASE("API 2: a raw delimiter aborts a partial frame, which counts as truncated") {
    const ByteVec g = vector_named("xbee_api2_rx_publish").bytes;
    ByteVec s = {0x7E, 0x00, 0x15, 0x90, 0x00};
    s.insert(s.end(), g.begin(), g.end());
    Decoder d(ApiMode::escaped);
    const Decoded got = decode_chunks(d, {s});
    CHECK(got.frames.size() == 1);
    CHECK(got.errors == std::vector<DecodeError>{DecodeError::truncated});
    CHECK(d.counters().truncated == 1);
  }
  SUBCASE("API 2: escape followed by a delimiter is a dangling escape; the next frame survives") {
    ByteVec s = {0x7E, 0x00, 0x02, 0x8A, 0x7D};
    const ByteVec g = vector_named("xbee_api2_txstatus_ok").bytes;
    s.insert(s.end(), g.begin(), g.end());
    const Decoded got = decode_all(ApiMode::escaped, s);
    CHECK(got.frames.size() == 1);
    CHECK(got.errors == std::vector<DecodeError>{DecodeError::dangling_escape});
  }
}

TEST_CASE("xbee decoder: bad checksums are dropped and counted, the stream carries on") {
  const ByteVec bad = vector_named("xbee_api1_bad_checksum").bytes;
  const ByteVec good = vector_named("xbee_api1_txstatus_ok").bytes;
  ByteVec s = bad;
  s.insert(s.end(), good.begin(), good.end());
  s.insert(s.end(), bad.begin(), bad.end());
  Decoder d(ApiMode::unescaped);
  const Decoded got = decode_chunks(d, {s});
  CHECK(got.frames.size() == 1);
  CHECK(d.counters().bad_checksum == 2);
  CHECK(got.errors.front() == DecodeError::bad_checksum);
}

TEST_CASE("xbee decoder: the length is bounded") {
  ByteVec big_data(40, 0x55);
  big_data[0] = 0x90;
  ByteVec s = encode(big_data, ApiMode::unescaped);
  const ByteVec good = vector_named("xbee_api1_modem_hw_reset").bytes;
  s.insert(s.end(), good.begin(), good.end());
  Decoder d(ApiMode::unescaped, 32);
  const Decoded got = decode_chunks(d, {s});
  CHECK(d.counters().oversized == 1);
  CHECK(got.errors.front() == DecodeError::oversized);
  REQUIRE(got.frames.size() == 1);
  CHECK(got.frames[0] == ByteVec{0x8A, 0x00});
  // With room for it, the same frame decodes.
  CHECK(decode_all(ApiMode::unescaped, s, 64).frames.size() == 2);
}

TEST_CASE("xbee API 2: 0x7E, 0x7D, 0x11, 0x13 in length, addresses, data and checksum") {
  // Length 0x11 (17 = 12 + 5 data octets); addresses and data full of special bytes.
  ByteVec fd = {0x90, 0x7E, 0x7D, 0x11, 0x13, 0x00, 0x00, 0x00, 0x00,
                0x7D, 0x13, 0x02, 0x05, 0x7E, 0x7D, 0x11, 0x00};
  REQUIRE(fd.size() == 0x11);
  for (int want : {0x7E, 0x7D, 0x11, 0x13}) {
    CAPTURE(int(want));
    // Choose the last data octet so that the checksum itself needs escaping.
    int sum = 0;
    for (std::size_t i = 0; i + 1 < fd.size(); ++i) sum += fd[i];
    fd.back() = static_cast<std::uint8_t>((0xFF - want - sum) & 0xFF);
    const ByteVec wire = encode(fd, ApiMode::escaped);
    CHECK(wire[wire.size() - 2] == 0x7D);
    CHECK(wire.back() == (want ^ 0x20));
    CHECK(wire[2] == 0x7D);  // the length's low octet 0x11 is escaped
    for (std::size_t i = 1; i < wire.size(); ++i) {
      CHECK(wire[i] != 0x7E);
      CHECK(wire[i] != 0x11);
      CHECK(wire[i] != 0x13);
    }
    Decoder d(ApiMode::escaped);
    std::vector<std::span<const std::uint8_t>> bytewise;
    for (std::size_t i = 0; i < wire.size(); ++i) bytewise.push_back(std::span(wire).subspan(i, 1));
    const Decoded got = decode_chunks(d, bytewise);
    REQUIRE(got.frames.size() == 1);
    CHECK(got.frames[0] == fd);
    const auto rx = std::get<RxPacket>(parse_frame(got.frames[0]));
    CHECK(rx.src64 == 0x7E7D111300000000ull);
    CHECK(rx.src16 == 0x7D13);
    CHECK(rx.broadcast());
    // The same frame data in API 1 is sent raw and also decodes (framing by length).
    CHECK(decode_all(ApiMode::unescaped, encode(fd, ApiMode::unescaped)).frames.at(0) == fd);
  }
}

TEST_CASE("xbee: explicit rx (0x91) and unknown / too short frames") {
  ByteVec fd = {0x91, 0,    0x13, 0xA2, 0,    0x40, 0x52, 0x2B, 0xAA, 0x7D, 0x84,
                0xE8, 0xE8, 0x00, 0x11, 0xC1, 0x05, 0x02, 0x03, 0x01, 0x00};
  const auto rx = std::get<ExplicitRx>(parse_frame(fd));
  CHECK(rx.src64 == 0x0013A20040522BAAull);
  CHECK(rx.src16 == 0x7D84);
  CHECK(rx.src_endpoint == 0xE8);
  CHECK(rx.cluster_id == 0x0011);
  CHECK(rx.profile_id == 0xC105);
  CHECK(rx.broadcast());
  CHECK(rx.data.size() == 3);
  const auto unk = std::get<UnknownFrame>(parse_frame(ByteVec{0x95, 1, 2}));
  CHECK(unk.type == 0x95);
  CHECK_FALSE(unk.too_short);
  CHECK(std::get<UnknownFrame>(parse_frame(ByteVec{0x90, 1, 2})).too_short);
  CHECK(std::get<UnknownFrame>(parse_frame(ByteVec{0x8B, 1})).too_short);
  CHECK(std::get<UnknownFrame>(parse_frame(ByteVec{})).too_short);
}

TEST_CASE("xbee encoders: refuse a buffer that is too small instead of overrunning it") {
  const ByteVec data = {0x03, 0x05, 0x00};
  TxRequest tx;
  tx.frame_id = 1;
  tx.dest64 = 0x0013A20040522BAAull;
  tx.dest16 = 0x7D84;
  tx.data = data;
  const ByteVec& expected = vector_named("xbee_api2_tx_connack").bytes;
  for (std::size_t size = 0; size < expected.size(); ++size) {
    ByteVec out(size);
    CHECK(encode_tx_request(tx, ApiMode::escaped, out) == 0);
  }
  ByteVec out(expected.size());
  CHECK(encode_tx_request(tx, ApiMode::escaped, out) == expected.size());
  CHECK(out == expected);
  CHECK(encode_at_command(1, "NPX", {}, ApiMode::unescaped, out) == 0);
}

TEST_CASE("xbee decoder: random bytes in random chunks never break it") {
  std::mt19937 rng(1234);
  for (ApiMode mode : {ApiMode::unescaped, ApiMode::escaped}) {
    Decoder d(mode, 64);
    std::uint64_t frames = 0;
    for (int round = 0; round < 2000; ++round) {
      ByteVec chunk(rng() % 40);
      for (auto& b : chunk) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0x7E : rng());
      d.feed(
          chunk,
          [&](std::span<const std::uint8_t> f) {
            ++frames;
            CHECK(f.size() <= 64);
            (void)parse_frame(f);
          },
          [](DecodeError) {});
    }
    CHECK(d.counters().frames == frames);
    // After any amount of noise, a good frame still comes through.
    d.finish();
    const ByteVec good = encode(ByteVec{0x8A, 0x06}, mode);
    int got = 0;
    d.feed(
        good, [&](std::span<const std::uint8_t>) { ++got; }, [](DecodeError) {});
    CHECK(got == 1);
  }
}
