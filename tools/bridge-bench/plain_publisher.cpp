#include "plain_publisher.hpp"

#include <MQTTAsync.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace mqttsn::bench {

std::string bench_payload(int i, int size) {
  std::string p = "m" + std::to_string(i);
  if (static_cast<int>(p.size()) < size) p.resize(static_cast<std::size_t>(size), '.');
  return p;
}

namespace {

struct State {
  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  int acked = 0;
  bool connected = false;
  bool failed = false;
  bool marker_done = false;
};

void on_connect(void* ctx, MQTTAsync_successData*) {
  auto* s = static_cast<State*>(ctx);
  std::lock_guard l(s->mutex);
  s->connected = true;
  s->cv.notify_all();
}
void on_connect_failed(void* ctx, MQTTAsync_failureData*) {
  auto* s = static_cast<State*>(ctx);
  std::lock_guard l(s->mutex);
  s->failed = true;
  s->cv.notify_all();
}
void on_acked(void* ctx, MQTTAsync_successData*) {
  auto* s = static_cast<State*>(ctx);
  std::lock_guard l(s->mutex);
  --s->outstanding;
  ++s->acked;
  s->cv.notify_all();
}
void on_failed(void* ctx, MQTTAsync_failureData*) {
  auto* s = static_cast<State*>(ctx);
  std::lock_guard l(s->mutex);
  s->failed = true;
  s->cv.notify_all();
}
void on_marker(void* ctx, MQTTAsync_successData*) {
  auto* s = static_cast<State*>(ctx);
  std::lock_guard l(s->mutex);
  s->marker_done = true;
  s->cv.notify_all();
}

}  // namespace

double run_plain(const RunSpec& spec) {
  State st;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  co.maxBufferedMessages = 1 << 20;  // as the bridge does: Paho's default (100) refuses QoS 0 bursts
  MQTTAsync client = nullptr;
  if (MQTTAsync_createWithOptions(&client, spec.uri.c_str(), "bench-plain", MQTTCLIENT_PERSISTENCE_NONE,
                                  nullptr, &co) != MQTTASYNC_SUCCESS)
    return -1;
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.maxInflight = spec.window + 16;
  o.onSuccess = on_connect;
  o.onFailure = on_connect_failed;
  o.context = &st;
  MQTTAsync_connect(client, &o);
  {
    std::unique_lock l(st.mutex);
    st.cv.wait(l, [&] { return st.connected || st.failed; });
    if (st.failed) {
      MQTTAsync_destroy(&client);
      return -1;
    }
  }

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < spec.messages; ++i) {
    std::string payload = bench_payload(i, spec.payload_size);
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = payload.data();
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = spec.qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    if (spec.qos > 0) {
      std::unique_lock l(st.mutex);
      st.cv.wait(l, [&] { return st.outstanding < spec.window || st.failed; });
      if (st.failed) break;
      ++st.outstanding;
      ro.onSuccess = on_acked;
      ro.onFailure = on_failed;
      ro.context = &st;
    }
    int rc = MQTTAsync_sendMessage(client, spec.topic.c_str(), &m, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
      std::fprintf(stderr, "plain: sendMessage failed: %d\n", rc);
      std::lock_guard l(st.mutex);
      st.failed = true;
      break;
    }
  }
  if (spec.qos == 0) {
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = const_cast<char*>("end");
    m.payloadlen = 3;
    m.qos = 1;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = on_marker;
    ro.onFailure = on_failed;
    ro.context = &st;
    MQTTAsync_sendMessage(client, spec.topic.c_str(), &m, &ro);
  }
  {
    std::unique_lock l(st.mutex);
    st.cv.wait(l, [&] { return st.failed || (spec.qos == 0 ? st.marker_done : st.acked == spec.messages); });
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  MQTTAsync_disconnect(client, &d);
  MQTTAsync_destroy(&client);
  return st.failed ? -1 : seconds;
}

}  // namespace mqttsn::bench
