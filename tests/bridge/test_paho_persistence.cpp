// PahoPersistence driven the way Paho 1.3.11 drives it (call sequences recorded from the library
// with a logging persistence: "c-N" put in MQTTAsync_sendMessage, then on Paho's threads "c-N" get
// and remove, "s-ID" put, "sc-ID" put at PUBREC; at PUBACK/PUBCOMP "s5-ID", "sc5-ID", "s-ID",
// "sc-ID" removed in that order; on a clean-session reconnect pkeys() and then each "s-"/"sc-" key
// removed), over the real records file and the daemon's DurableUpstream.
#include <doctest/doctest.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bridge/paho_persistence.hpp"
#include "gateway/app/durable_upstream.hpp"
#include "support/temp_dir.hpp"

using namespace mqttsn::bridge;
namespace fs = std::filesystem;

namespace {

constexpr int kPublishCommand = 3;

// Paho's stored PUBLISH command: type, token (= packet id), topic, payload length, payload, qos, retain.
struct Command {
  int type = kPublishCommand, token, payloadlen = 1;
  std::string topic = "t";
  char payload = 'x';
  int qos, retained = 0;
};

// Paho's stored PUBLISH packet: fixed header byte (QoS in bits 1-2), then the rest.
std::vector<char> publish_packet(int qos, std::uint16_t id, bool dup = false) {
  return {static_cast<char>(0x30 | (dup ? 0x08 : 0) | (qos << 1)),
          7,
          0,
          1,
          't',
          static_cast<char>(id >> 8),
          static_cast<char>(id & 0xff),
          'x'};
}

class Driver {
 public:
  explicit Driver(const fs::path& file) {
    uv_loop_init(&loop_);
    mqttsn::store::OpenReport report;
    std::string error;
    auto records = mqttsn::store::UpstreamRecords::open(file, report, error);
    REQUIRE_MESSAGE(records != nullptr, error);
    durable_ = std::make_unique<mqttsn::app::DurableUpstream>(&loop_, std::move(records));
    persistence_ = std::make_unique<PahoPersistence>(*durable_);
    p_ = persistence_->interface();
    REQUIRE(p_->popen(&handle_, "client", "tcp://127.0.0.1:1883", p_->context) == 0);
  }
  ~Driver() {
    p_->pclose(handle_);
    persistence_.reset();
    durable_->close();
    durable_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  // MQTTAsync_sendMessage: stores the command on the caller's thread.
  int command(int n, int packet_id, int qos, MessageTag tag) {
    Command c{.token = packet_id, .qos = qos};
    char* bufs[] = {reinterpret_cast<char*>(&c.type),
                    reinterpret_cast<char*>(&c.token),
                    c.topic.data(),
                    reinterpret_cast<char*>(&c.payloadlen),
                    &c.payload,
                    reinterpret_cast<char*>(&c.qos),
                    reinterpret_cast<char*>(&c.retained)};
    int lens[] = {4, 4, static_cast<int>(c.topic.size()) + 1, 4, 1, 4, 4};
    const PahoPersistence::Handing handing(tag);
    return put("c-" + std::to_string(n), bufs, lens, 7);
  }
  int sent(int packet_id, int qos, bool dup = false) {
    auto pkt = publish_packet(qos, static_cast<std::uint16_t>(packet_id), dup);
    char* bufs[] = {pkt.data(), pkt.data() + 1};
    int lens[] = {1, static_cast<int>(pkt.size()) - 1};
    return put("s-" + std::to_string(packet_id), bufs, lens, 2);
  }
  int pubrel(int packet_id) {
    char pkt[] = {0x62, 2, static_cast<char>(packet_id >> 8), static_cast<char>(packet_id & 0xff)};
    char* bufs[] = {pkt, pkt + 2};
    int lens[] = {2, 2};
    return put("sc-" + std::to_string(packet_id), bufs, lens, 2);
  }
  int remove(const std::string& key) { return p_->premove(handle_, const_cast<char*>(key.c_str())); }
  // Command n handed over, then sent by Paho's send thread: c-n stored, read back, dropped; s-id stored.
  void send(int n, int packet_id, int qos, MessageTag tag) {
    REQUIRE(command(n, packet_id, qos, tag) == 0);
    get("c-" + std::to_string(n));  // Paho reads the command back before sending it
    REQUIRE(remove("c-" + std::to_string(n)) == 0);
    REQUIRE(sent(packet_id, qos) == 0);
  }
  // PUBACK or PUBCOMP: MQTTPersistence_remove's sequence.
  void complete(int packet_id) {
    const std::string n = std::to_string(packet_id);
    for (const char* prefix : {"s5-", "sc5-", "s-", "sc-"}) REQUIRE(remove(prefix + n) == 0);
  }
  // CONNACK with session present = 0 on a kept session: Paho lists its keys and drops the in-flight ones.
  void clean_session() {
    for (const auto& k : keys())
      if (k.rfind("s-", 0) == 0 || k.rfind("sc-", 0) == 0) REQUIRE(remove(k) == 0);
  }
  bool contains(const std::string& key) {
    return p_->pcontainskey(handle_, const_cast<char*>(key.c_str())) == 0;
  }
  std::string get(const std::string& key) {
    char* buf = nullptr;
    int len = 0;
    if (p_->pget(handle_, const_cast<char*>(key.c_str()), &buf, &len) != 0) return "(none)";
    std::string out(buf, static_cast<std::size_t>(len));
    // As Paho 1.3.11 does: it never frees a command's buffer (PahoPersistence frees it when the
    // command's record is removed); every other buffer it frees.
    if (key.rfind("c-", 0) != 0) std::free(buf);
    return out;
  }
  std::set<std::string> keys() {
    char** keys = nullptr;
    int n = 0;
    REQUIRE(p_->pkeys(handle_, &keys, &n) == 0);
    std::set<std::string> out;
    for (int i = 0; i < n; ++i) {
      out.insert(keys[i]);
      std::free(keys[i]);
    }
    std::free(keys);
    return out;
  }
  // What the daemon's turn would collect (each call takes both lists, keeping the other for later).
  std::vector<MessageTag> delivered() {
    take();
    return std::exchange(delivered_, {});
  }
  std::vector<MessageTag> abandoned() {
    take();
    return std::exchange(abandoned_, {});
  }
  mqttsn::store::UpstreamRecords& file() { return durable_->records(); }

 private:
  int put(const std::string& key, char** bufs, int* lens, int n) {
    return p_->pput(handle_, const_cast<char*>(key.c_str()), n, bufs, lens);
  }
  void take() {
    std::vector<MessageTag> d, a;
    durable_->take(d, a);
    delivered_.insert(delivered_.end(), d.begin(), d.end());
    abandoned_.insert(abandoned_.end(), a.begin(), a.end());
  }
  std::vector<MessageTag> delivered_, abandoned_;
  uv_loop_t loop_{};
  std::unique_ptr<mqttsn::app::DurableUpstream> durable_;
  std::unique_ptr<PahoPersistence> persistence_;
  MQTTClient_persistence* p_ = nullptr;
  void* handle_ = nullptr;
};

// The row the file holds for `key`, -1 when the key is not there.
MessageTag row_in_file(mqttsn::store::UpstreamRecords& file, const std::string& key) {
  for (const auto& r : file.load())
    if (r.key == key) return r.row;
  return -1;
}

}  // namespace

TEST_CASE("paho persistence: a QoS 2 exchange is on disk with its row from PUBLISH to PUBCOMP") {
  mqttsn::test::TempDir dir("paho-persistence");
  Driver d(dir.path() / "u.db");
  REQUIRE(d.command(1, 17, 2, 501) == 0);
  CHECK(d.file().size() == 0);  // an unsent command lives in memory: the store row covers it
  CHECK(d.get("c-1").size() > 8);
  REQUIRE(d.remove("c-1") == 0);  // Paho drops the command before it stores the sent PUBLISH
  REQUIRE(d.sent(17, 2) == 0);
  CHECK(row_in_file(d.file(), "s-17") == 501);
  REQUIRE(d.pubrel(17) == 0);
  CHECK(row_in_file(d.file(), "sc-17") == 501);
  CHECK(d.keys() == std::set<std::string>{"s-17", "sc-17"});
  CHECK(d.delivered().empty());
  // PUBCOMP: removing s-17 notes the row delivered in the same transaction.
  d.complete(17);
  CHECK(d.file().delivered() == std::vector<std::int64_t>{501});
  CHECK(d.delivered() == std::vector<MessageTag>{501});
  CHECK(d.abandoned().empty());
  CHECK(d.file().size() == 0);
  CHECK(d.keys().empty());
}

TEST_CASE("paho persistence: QoS 1 and QoS 0 never touch the disk, and deliver no row") {
  mqttsn::test::TempDir dir("paho-persistence");
  Driver d(dir.path() / "u.db");
  d.send(1, 5, 1, 77);
  CHECK_FALSE(d.contains("s-5"));  // Paho resends a QoS 1 PUBLISH from its own memory
  CHECK(d.file().size() == 0);
  d.complete(5);  // PUBACK
  CHECK_FALSE(d.contains("s-5"));
  CHECK(d.file().delivered().empty());
  CHECK(d.delivered().empty());
  REQUIRE(d.command(2, 0, 0, 0) == 0);  // QoS 0 commands are stored too (Paho 1.3.11): in memory
  CHECK(d.file().size() == 0);
}

TEST_CASE("paho persistence: after a restart the records are Paho's to resume, with their rows") {
  mqttsn::test::TempDir dir("paho-persistence");
  const auto file = dir.path() / "u.db";
  {
    Driver d(file);
    d.send(1, 3, 2, 900);
    d.send(2, 4, 2, 901);
    d.pubrel(4);
    d.command(3, 5, 2, 902);  // never sent: gone with the process
  }
  Driver d(file);
  CHECK(d.keys() == std::set<std::string>{"s-3", "s-4", "sc-4"});
  const auto packet = publish_packet(2, 3);
  CHECK(d.get("s-3") == std::string(packet.begin(), packet.end()));
  // Paho resends s-3 with DUP and stores it again, without any tag on this thread: the row stays.
  REQUIRE(d.sent(3, 2, true) == 0);
  CHECK(row_in_file(d.file(), "s-3") == 900);
  REQUIRE(d.pubrel(3) == 0);
  d.complete(3);
  d.complete(4);
  CHECK(d.delivered() == std::vector<MessageTag>{900, 901});
  CHECK(d.file().size() == 0);
}

TEST_CASE("paho persistence: a QoS 2 message that is not the app's (no tag) is kept without a row") {
  mqttsn::test::TempDir dir("paho-persistence");
  Driver d(dir.path() / "u.db");
  d.send(1, 9, 2, 333);
  d.complete(9);  // 333 delivered, and packet id 9 free again
  CHECK(d.delivered() == std::vector<MessageTag>{333});
  // Packet id 9 reused by a message sent without a tag (e.g. a QoS floor raised a QoS 0 reading).
  d.send(2, 9, 2, 0);
  CHECK(row_in_file(d.file(), "s-9") == 0);
  d.complete(9);
  CHECK(d.delivered().empty());
}

TEST_CASE("paho persistence: exchanges Paho drops with its session are reported abandoned, not delivered") {
  mqttsn::test::TempDir dir("paho-persistence");
  const auto file = dir.path() / "u.db";
  {
    Driver d(file);
    d.send(1, 21, 2, 700);
    d.send(2, 22, 2, 701);
    d.pubrel(22);
  }
  // Restarted, and the broker lost the gateway's session: Paho cleans its own.
  Driver d(file);
  d.clean_session();
  CHECK(d.file().size() == 0);
  CHECK(d.file().delivered().empty());
  CHECK(d.delivered().empty());
  auto abandoned = d.abandoned();
  std::sort(abandoned.begin(), abandoned.end());
  CHECK(abandoned == std::vector<MessageTag>{700, 701});
}
