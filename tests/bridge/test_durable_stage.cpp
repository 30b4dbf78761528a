// The durable stage alone: a real store in a temporary directory and a real loop, a fake upstream
// connection below it and a recording requester above it. What it must do: write nothing for what
// the broker takes within the flush interval, write what it does not take (and everything while the
// broker is away), answer the node at the first of the broker's ack and the commit, commit QoS 2
// before it goes up, and never answer from inside publish().
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "gateway/app/durable_stage.hpp"
#include "support/temp_dir.hpp"
#include "support/uv_run_until.hpp"

using namespace std::chrono_literals;
using mqttsn::Bytes;
using mqttsn::Millis;
using mqttsn::PublishId;
using mqttsn::PublishResult;
using mqttsn::QoS;
using mqttsn::app::DurableStage;
using mqttsn::bridge::PublishRequest;
using mqttsn::bridge::UpstreamState;

namespace {

struct Sent {
  PublishId id;
  std::string topic;
  std::string payload;
  int qos;
  std::int64_t tag;
  bool kept_above;
};

// The upstream connection as the stage sees it: records what it is handed; the test answers.
class FakeConnection final : public mqttsn::bridge::Upstream {
 public:
  bool start() override { return true; }
  void publish(const PublishRequest& r) override {
    sent.push_back({r.id, std::string(r.topic), std::string(r.payload.begin(), r.payload.end()), r.qos, r.tag,
                    r.kept_above});
  }
  void subscribe(std::string_view, QoS) override {}
  void unsubscribe(std::string_view) override {}
  void set_kept_filters(const std::vector<std::string>& filters) override { kept_filters = filters; }
  void shutdown(Millis, std::function<void()> done) override { done(); }
  bool connected() const override { return is_connected; }
  mqttsn::bridge::UpstreamStatus status() const override { return {}; }

  std::vector<Sent> sent;
  std::vector<std::string> kept_filters;
  bool is_connected = true;
};

class Requester final : public mqttsn::bridge::UpstreamEvents {
 public:
  void on_publish_result(PublishId id, PublishResult r) override { results[id] = r; }
  mqttsn::DownlinkReceipt on_message(std::string_view topic, Bytes, QoS, bool,
                                     mqttsn::bridge::InboxId inbox) override {
    messages.emplace_back(std::string(topic), inbox);
    return {};
  }
  void on_suback(std::string_view, std::optional<QoS>) override {}
  void on_state(UpstreamState s) override { states.push_back(s); }
  std::map<PublishId, PublishResult> results;
  std::vector<UpstreamState> states;
  std::vector<std::pair<std::string, mqttsn::bridge::InboxId>> messages;
};

struct Fixture {
  explicit Fixture(Millis flush_interval = 100ms) {
    config.store.path = dir.path() / "state.db";
    config.store.flush_interval = flush_interval;
    make();
  }
  void make() {
    stage = std::make_unique<DurableStage>(config, loop, above);
    stage->connect_below(below);
    // The stage stamps messages with the loop's cached time, which is from before the store was
    // opened: under qemu on a busy machine that open can outlast the whole flush interval, and the
    // first turn would then find every message already due.
    uv_update_time(loop);
  }
  PublishId publish(const std::string& topic, const std::string& payload, QoS qos) {
    PublishRequest r;
    r.id = ++last_id;
    r.client_id = "node";
    r.topic = topic;
    r.payload = Bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    r.qos = qos;
    stage->publish(r);
    CHECK(above.results.count(r.id) == 0);  // never answered from inside publish()
    return r.id;
  }
  void turn() { mqttsn::test::run_for(loop, 1ms); }
  bool wait(const std::function<bool()>& f, Millis timeout = 2000ms) {
    return mqttsn::test::run_until(loop, f, timeout);
  }
  mqttsn::store::StoreStats stats() { return stage->stage_status().stats; }

  mqttsn::test::TempDir dir{"durable-stage"};
  mqttsn::conf::GatewayConfig config;
  mqttsn::test::TestLoop loop;
  FakeConnection below;
  Requester above;
  std::unique_ptr<DurableStage> stage;
  PublishId last_id = 0;
};

}  // namespace

TEST_CASE("QoS 1 acknowledged by the broker within the flush interval is never written") {
  Fixture f(1000ms);  // long enough for a slow machine (qemu) to answer well within it
  std::vector<PublishId> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(f.publish("s/t", "r" + std::to_string(i), 1));
  REQUIRE(f.below.sent.size() == 20);  // handed up at once, not after a commit
  CHECK(f.below.sent[0].kept_above);
  CHECK(f.below.sent[0].tag == 0);
  f.turn();
  CHECK(f.above.results.empty());  // the node waits for the broker or the commit
  for (const auto& s : f.below.sent) f.stage->on_publish_result(s.id, PublishResult::delivered);
  REQUIRE(f.wait([&] { return f.above.results.size() == 20; }));
  for (auto id : ids) CHECK(f.above.results[id] == PublishResult::delivered);
  mqttsn::test::run_for(f.loop, 1200ms);  // past the interval: still nothing to write
  const auto st = f.stage->stage_status();
  CHECK(st.stats.rows_written == 0);
  CHECK(st.stats.commits == 0);
  CHECK(st.acked_unwritten == 20);
  CHECK(st.held == 0);
}

TEST_CASE("QoS 1 the broker has not acknowledged within the interval is written, then acknowledged") {
  Fixture f(500ms);  // long enough that a slow machine (qemu) sees nothing written before it
  const auto a = f.publish("s/t", "late", 1);
  const auto b = f.publish("s/t", "later", 1);
  f.turn();
  CHECK(f.stats().rows_written == 0);
  REQUIRE(f.wait([&] { return f.above.results.size() == 2; }, 3000ms));
  CHECK(f.above.results[a] == PublishResult::kept);
  CHECK(f.above.results[b] == PublishResult::kept);
  auto st = f.stage->stage_status();
  CHECK(st.stats.uplink_messages == 2);
  CHECK(st.stats.commits == 1);  // one transaction for both
  CHECK(st.held_unwritten == 0);

  // The broker's acks come later: the rows go in one batch at the next flush, not a commit each.
  const auto commits = st.stats.commits;
  for (const auto& s : f.below.sent) f.stage->on_publish_result(s.id, PublishResult::delivered);
  f.turn();
  CHECK(f.stats().uplink_messages == 0);  // gone from the open transaction's view at once
  REQUIRE(f.wait([&] { return f.stats().commits == commits + 1; }, 3000ms));
  mqttsn::test::run_for(f.loop, 600ms);
  CHECK(f.stats().commits == commits + 1);
  CHECK(f.above.results[a] == PublishResult::kept);  // told once, not again
}

TEST_CASE("while the broker is away every flush writes all that waits, and a disconnect flushes at once") {
  Fixture f(150ms);
  const auto a = f.publish("s/t", "before", 1);
  f.below.is_connected = false;
  f.stage->on_state(UpstreamState::unreachable);
  f.turn();  // the end of this turn flushes: no waiting for the interval
  CHECK(f.above.results[a] == PublishResult::kept);
  CHECK(f.stats().uplink_messages == 1);
  CHECK(f.above.states.back() == UpstreamState::unreachable);

  const auto b = f.publish("s/t", "during", 1);
  f.turn();
  REQUIRE(f.wait([&] { return f.above.results.count(b) > 0; }, 1000ms));
  CHECK(f.above.results[b] == PublishResult::kept);
  CHECK(f.stats().uplink_messages == 2);
}

TEST_CASE("QoS 2 is committed before it goes up, and carries its row") {
  Fixture f(1000ms);
  const auto id = f.publish("s/q2", "exactly", 2);
  CHECK(f.below.sent.empty());  // not before the commit
  f.turn();
  REQUIRE(f.below.sent.size() == 1);
  CHECK(f.below.sent[0].tag != 0);
  CHECK(f.below.sent[0].qos == 2);
  CHECK(f.above.results[id] == PublishResult::kept);
  CHECK(f.stats().uplink_messages == 1);
  f.stage->on_publish_result(f.below.sent[0].id, PublishResult::delivered);
  f.turn();
  CHECK(f.stats().uplink_messages == 0);
}

TEST_CASE("what waits for the broker is bounded: past it the node hears congestion") {
  Fixture f(1000ms);
  f.config.upstream.queue_max_messages = 5;
  f.make();
  std::vector<PublishId> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(f.publish("s/t", "x", 1));
  f.turn();
  CHECK(f.below.sent.size() == 5);
  CHECK(f.above.results[ids[5]] == PublishResult::congested);
  CHECK(f.above.results[ids[6]] == PublishResult::congested);
  CHECK(f.stage->stage_status().congested == 2);
}

TEST_CASE("close writes what waits, the next start hands the rows up again in their order") {
  Fixture f(10'000ms);
  f.publish("s/t", "one", 1);
  f.publish("s/t", "two", 1);
  f.stage->close();
  f.stage.reset();
  f.below.sent.clear();
  f.make();
  f.stage->restore();
  REQUIRE(f.below.sent.size() == 2);
  CHECK(f.below.sent[0].payload == "one");
  CHECK(f.below.sent[1].payload == "two");
  CHECK(f.below.sent[0].tag != 0);
  // Delivered now: the rows go, and a third start has nothing to send.
  for (const auto& s : f.below.sent) f.stage->on_publish_result(s.id, PublishResult::delivered);
  f.stage->close();
  f.stage.reset();
  f.below.sent.clear();
  f.make();
  f.stage->restore();
  CHECK(f.below.sent.empty());
}

TEST_CASE("without a store every request and result passes through unchanged") {
  Fixture f;
  f.config.store.enabled = false;
  f.make();
  const auto id = f.publish("s/t", "x", 1);
  REQUIRE(f.below.sent.size() == 1);
  CHECK(f.below.sent[0].id == id);
  CHECK_FALSE(f.below.sent[0].kept_above);
  f.stage->on_publish_result(id, PublishResult::kept);
  CHECK(f.above.results[id] == PublishResult::kept);
}

TEST_CASE("a QoS 1 message from the inbox is noted taken by the next flush, then dropped from the inbox") {
  Fixture f(10s);  // no flush of its own during the test, however slow the machine (qemu in CI)
  REQUIRE(f.stage->durable_records() != nullptr);
  const std::uint8_t p[] = {'o', 'n'};
  const auto id = f.stage->durable_records()->add_to_inbox("cmd/lamp", p, 1, false, "", false);
  REQUIRE(id > 0);
  CHECK(f.stage->stage_status().inbox == 1);
  f.stage->on_message("cmd/lamp", Bytes(p, sizeof p), 1, false, id);
  REQUIRE(f.above.messages.size() == 1);
  CHECK(f.above.messages[0].second == id);
  // A sync per message is what the inbox note saves: the row is safe where it is until then.
  f.turn();
  CHECK(f.stage->stage_status().inbox == 1);
  CHECK(f.stage->store()->inbox_taken() == 0);
  f.stage->commit_now();  // what the flush timer does once the interval has passed
  CHECK(f.stage->stage_status().inbox == 0);
  CHECK(f.stage->stage_status().inbox_taken == 1);
  CHECK(f.stage->store()->inbox_taken() == id);
}

TEST_CASE("a QoS 2 message from the inbox is noted taken in the turn's commit: a replay would repeat it") {
  Fixture f;
  const std::uint8_t p[] = {'o', 'n'};
  const auto id = f.stage->durable_records()->add_to_inbox("cmd/lamp", p, 2, false, "", false);
  f.stage->on_message("cmd/lamp", Bytes(p, sizeof p), 2, false, id);
  f.turn();
  CHECK(f.stage->stage_status().inbox == 0);
  CHECK(f.stage->store()->inbox_taken() == id);
}

TEST_CASE("a held message written to the inbox after it was handed up is noted taken like the others") {
  Fixture f;
  const std::uint8_t p[] = {'x'};
  f.stage->on_message("cmd/slow", Bytes(p, sizeof p), 1, false, 0);
  const auto id = f.stage->durable_records()->add_to_inbox("cmd/slow", p, 1, false, "", false);
  f.stage->on_inbox_written(id);
  REQUIRE(f.wait([&] { return f.stage->stage_status().inbox == 0; }));
  CHECK(f.stage->store()->inbox_taken() == id);
}

TEST_CASE("inbox messages not noted taken go up again at the next start, once") {
  Fixture f;
  const std::uint8_t p[] = {'x'};
  const auto taken = f.stage->durable_records()->add_to_inbox("cmd/a", p, 1, false, "", false);
  f.stage->on_message("cmd/a", Bytes(p, sizeof p), 1, false, taken);
  f.turn();
  // Written to the inbox (the broker was told), but the process dies before the loop takes it.
  const auto left = f.stage->durable_records()->add_to_inbox("cmd/b", p, 2, false, "", false);
  f.stage->close();
  f.stage.reset();
  f.above.messages.clear();
  f.make();
  CHECK(f.stage->take_inbox_left() == 1);
  REQUIRE(f.above.messages.size() == 1);
  CHECK(f.above.messages[0] == std::make_pair(std::string("cmd/b"), left));
  // The connection hands up the same row again (it arrived while the inbox was read): ignored.
  f.stage->on_message("cmd/b", Bytes(p, sizeof p), 2, false, left);
  CHECK(f.above.messages.size() == 1);
  f.turn();
  CHECK(f.stage->stage_status().inbox == 0);
}
