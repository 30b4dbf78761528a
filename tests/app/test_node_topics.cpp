// NodeTopics (gateway/app/node_topics.hpp) on the real core with a fake clock and a recording
// publisher: what goes to the broker when, within the rate, and what is forgotten when.
#include <doctest/doctest.h>

#include <map>

#include "core/harness.hpp"
#include "gateway/app/node_topics.hpp"

using namespace mqttsn;
using namespace mqttsn::test;
using mqttsn::app::DocumentClock;
using mqttsn::app::NodeTopics;

namespace {

struct Published {
  std::string topic, payload;
  bool retain;
};

struct TopicsHarness {
  explicit TopicsHarness(conf::OperationsConfig config = defaults(), Millis forget_after = Millis{600000})
      : topics(
            config, forget_after, h.gw, {"udp"},
            [this](const std::string& t, std::string_view p, bool r) {
              sent.push_back({t, std::string(p), r});
            },
            [this] {
              return DocumentClock{h.now, std::chrono::system_clock::time_point{} + h.now};
            }) {
    h.gw.set_presence_observer(&topics);
  }
  static conf::OperationsConfig defaults() {
    conf::OperationsConfig c;
    c.base_topic = "b";
    c.document_interval = std::chrono::seconds(10);
    c.summary_interval = std::chrono::seconds(5);
    c.publish_rate = 100;
    return c;
  }
  void tick_for(Millis d, Millis step = Millis{10}) {
    for (Millis end = h.now + d; h.now < end;) {
      h.advance(step);
      topics.on_tick();
    }
  }
  std::map<std::string, std::string> last() const {
    std::map<std::string, std::string> out;
    for (const auto& p : sent) out[p.topic] = p.payload;
    return out;
  }
  std::size_t count(std::string_view suffix) const {
    std::size_t n = 0;
    for (const auto& p : sent) n += p.topic.ends_with(suffix);
    return n;
  }
  Harness h;
  std::vector<Published> sent;
  NodeTopics topics;
};

}  // namespace

TEST_CASE("nothing goes out while the broker is away, all of it at the connect") {
  TopicsHarness t;
  t.h.connect(1, "a");
  t.h.connect(2, "b");
  t.tick_for(Millis{1000});
  CHECK(t.sent.empty());
  t.topics.on_upstream_state(true);
  t.tick_for(Millis{100});
  const auto last = t.last();
  CHECK(last.at("b/nodes/a/availability") == "online");
  CHECK(last.at("b/nodes/b/availability") == "online");
  CHECK(last.contains("b/nodes/a"));
  CHECK(last.contains("b/nodes"));
  for (const auto& p : t.sent) CHECK(p.retain);
}

TEST_CASE("a description at most every document_interval, availability at once") {
  TopicsHarness t;
  t.topics.on_upstream_state(true);
  t.h.connect(1, "a");
  t.tick_for(Millis{100});
  CHECK(t.count("b/nodes/a") == 1);
  t.h.reg(1, "x");  // a change
  t.tick_for(Millis{2000});
  CHECK(t.count("b/nodes/a") == 1);  // not yet: 10 s since the last
  t.h.recv(1, "04 18 00 3C");        // asleep: told at once
  t.tick_for(Millis{50});
  CHECK(t.last().at("b/nodes/a/availability") == "asleep");
  t.tick_for(Millis{9000});
  CHECK(t.count("b/nodes/a") == 2);
  CHECK(t.last().at("b/nodes/a").find("\"asleep\"") != std::string::npos);
}

TEST_CASE("300 nodes coming back reach the broker within the rate, availability first") {
  TopicsHarness t;
  for (int i = 0; i < 300; ++i) t.h.connect(1000 + i, "n" + std::to_string(i));
  t.topics.on_upstream_state(true);
  t.tick_for(Millis{1000});
  // One second of burst and one of rate: at most 2 x 100 messages.
  CHECK(t.sent.size() <= 200);
  CHECK(t.sent.size() >= 100);
  CHECK(t.count("/availability") == t.sent.size());
  t.tick_for(Millis{10000});
  CHECK(t.count("/availability") == 300);
  CHECK(t.count("b/nodes") >= 1);
}

TEST_CASE("a clean node that left is forgotten forget_after later") {
  TopicsHarness t(TopicsHarness::defaults(), Millis{60000});
  t.topics.on_upstream_state(true);
  t.h.connect(1, "gone");
  t.tick_for(Millis{100});
  t.h.recv(1, "02 18");  // DISCONNECT: the clean session ends
  t.tick_for(Millis{100});
  CHECK(t.last().at("b/nodes/gone/availability") == "offline");
  t.tick_for(Millis{30000}, Millis{100});
  CHECK(t.last().at("b/nodes/gone/availability") == "offline");
  CHECK(t.last().at("b/nodes/gone").find("\"session\":false") != std::string::npos);
  t.tick_for(Millis{40000}, Millis{100});
  CHECK(t.last().at("b/nodes/gone/availability").empty());
  CHECK(t.last().at("b/nodes/gone").empty());
  CHECK(t.topics.known_nodes() == 0);
  CHECK(t.topics.counts().cleared == 1);
}

TEST_CASE("read back at start: a node without a session that was online is told offline") {
  TopicsHarness t;
  t.h.connect(1, "here");
  t.topics.on_upstream_state(true);
  CHECK(t.topics.read_back_open());
  CHECK(t.topics.on_availability_message("b/nodes/here/availability", "online"));  // known: ignored
  CHECK(t.topics.on_availability_message("b/nodes/old/availability", "online"));
  CHECK(t.topics.on_availability_message("b/nodes/older/availability", "lost"));
  CHECK_FALSE(t.topics.on_availability_message("b/nodes/x/y/availability", "online"));
  CHECK_FALSE(t.topics.on_availability_message("b/other", "online"));
  t.tick_for(Millis{200});
  const auto last = t.last();
  CHECK(last.at("b/nodes/here/availability") == "online");
  CHECK(last.at("b/nodes/old/availability") == "offline");
  CHECK_FALSE(last.contains("b/nodes/older/availability"));  // already what it should say
  CHECK(t.topics.counts().read_back == 2);
  t.tick_for(Millis{10000}, Millis{100});
  CHECK_FALSE(t.topics.read_back_open());
}
