#pragma once
// A blocking MQTT test client on top of Paho MQTTAsync, to look at the broker from the outside:
// subscribe and collect what arrives (topic, payload, QoS, retain), publish and wait for the ack.
// Thread-safe: Paho's callbacks fill the collection, the test thread waits on it.
#include <MQTTAsync.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mqttsn::test {

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
};

struct TestClientOptions {
  std::string uri;
  std::string client_id = "mqttsn-test-client";
  bool clean_session = true;
  bool auto_reconnect = false;  // Paho's automatic reconnect (for broker-restart tests)
  std::string username;
  std::string password;
  std::string ca_file;  // set for ssl:// URIs
  int keep_alive_s = 10;
};

class PahoTestClient {
 public:
  using Millis = std::chrono::milliseconds;

  explicit PahoTestClient(TestClientOptions options);
  ~PahoTestClient();
  PahoTestClient(const PahoTestClient&) = delete;
  PahoTestClient& operator=(const PahoTestClient&) = delete;

  // Each returns false on failure or timeout.
  bool connect(Millis timeout = Millis(5000));
  bool subscribe(const std::string& filter, int qos, Millis timeout = Millis(5000));
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retain,
               Millis timeout = Millis(5000));
  void disconnect();
  bool connected() const;

  // Waits until at least n messages arrived in total.
  bool wait_for(std::size_t n, Millis timeout);
  // Waits until `pred(messages)` holds.
  bool wait_until(const std::function<bool(const std::vector<ReceivedMessage>&)>& pred, Millis timeout);
  // Waits until every payload of `expected` arrived (any order, duplicates allowed); returns those
  // still missing then (empty: all arrived).
  std::set<std::string> wait_for_payloads(const std::set<std::string>& expected, Millis timeout);
  std::vector<ReceivedMessage> messages() const;
  std::size_t count() const;
  void clear();

 private:
  struct Waiter;
  bool wait_result(Waiter& w, Millis timeout);
  static int on_message(void* ctx, char* topic, int topic_len, MQTTAsync_message* message);
  static void on_lost(void* ctx, char* cause);
  static void on_connected(void* ctx, char* cause);

  TestClientOptions options_;
  void* client_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ReceivedMessage> messages_;
  bool connected_ = false;
};

}  // namespace mqttsn::test
