#include "tools/bench/self_test.hpp"

#include <array>
#include <vector>

#include "tools/bench/gateway_status.hpp"
#include "tools/bench/payload.hpp"
#include "tools/bench/stats.hpp"
#include "tools/bench/sync_tracer.hpp"

namespace mqttsn::bench {

int run_self_test(std::FILE* out) {
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      ++failures;
      std::fprintf(out, "self-test FAILED: %s\n", what);
    }
  };

  // Percentiles, nearest rank over 1..1000 (ns): p50 = 500, p99 = 990, p99.9 = 999, p100 = 1000.
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1000; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  const auto s = summarise(v);
  check(s.count == 1000, "count");
  check(s.p50_us == 0.5, "p50 of 1..1000 ns is 500 ns");
  check(s.p99_us == 0.99, "p99 of 1..1000 ns is 990 ns");
  check(s.p999_us == 0.999, "p99.9 of 1..1000 ns is 999 ns");
  check(s.max_us == 1.0, "max of 1..1000 ns");
  check(s.mean_us > 0.50049 && s.mean_us < 0.50051, "mean of 1..1000 ns is 500.5 ns");
  const std::vector<std::uint64_t> one = {7000};
  check(percentile_ns(one, 0) == 7000 && percentile_ns(one, 99.9) == 7000, "one sample is every percentile");
  check(percentile_ns({}, 50) == 0 && summarise({}).count == 0, "no samples");
  // 10 samples: p99 and p99.9 are the max (rank ceil(9.9) = 10), p50 is the 5th.
  std::vector<std::uint64_t> ten;
  for (std::uint64_t i = 1; i <= 10; ++i) ten.push_back(i * 1000);
  const auto t = summarise(ten);
  check(t.p50_us == 5 && t.p99_us == 10 && t.p999_us == 10, "10 samples: p50 5th, p99 10th");

  // Payload: little-endian header, filler after it, and the minimum size enforced both ways.
  std::array<std::uint8_t, 20> buf{};
  const PayloadHeader h{0x01020304, 0xA0B0C0D0, 0x1122334455667788ULL};
  check(encode_payload(h, buf), "encode 20 octets");
  check(buf[0] == 0x04 && buf[3] == 0x01 && buf[4] == 0xD0 && buf[8] == 0x88 && buf[15] == 0x11,
        "byte order");
  check(buf[16] == 'a' + 16 % 26, "filler after the header");
  const auto back = decode_payload(buf);
  check(back && back->client == h.client && back->seq == h.seq && back->send_ns == h.send_ns, "round trip");
  std::array<std::uint8_t, 15> small{};
  check(!encode_payload(h, small), "encode refuses 15 octets");
  check(!decode_payload(small), "decode refuses 15 octets");
  check(decode_payload(std::span<const std::uint8_t>(buf.data(), kMinPayload)).has_value(),
        "16 octets suffice");

  // strace -c summaries: calls per syscall (errors included), the total line skipped; nothing called
  // is an empty file; anything else is not a summary.
  const auto sum = parse_strace_summary(
      "% time     seconds  usecs/call     calls    errors syscall\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      " 92.31    0.001200          12       100         1 fdatasync\n"
      "  7.69    0.000100          33         3           fsync\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      "100.00    0.001300          12       103         1 total\n");
  check(sum && sum->size() == 2 && sum->at("fdatasync") == 100 && sum->at("fsync") == 3, "strace summary");
  const auto none = parse_strace_summary("");
  check(none && none->empty(), "empty strace summary: no calls");
  check(!parse_strace_summary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"),
        "an strace error is not a summary");

  // Store counter deltas: integers stay integers, a counter missing on either side is null.
  const auto d = counter_deltas(nlohmann::json{{"commits", 10}, {"syncs", nullptr}, {"rows_written", 5}},
                                nlohmann::json{{"commits", 25}, {"syncs", nullptr}, {"rows_written", 5}});
  check(d["commits"] == 15 && d["commits"].is_number_integer() && d["syncs"].is_null() &&
            d["rows_written"] == 0 && d["bytes_written"].is_null(),
        "store counter deltas");

  if (failures == 0) std::fprintf(out, "self-test: all checks passed\n");
  return failures;
}

}  // namespace mqttsn::bench
