#include "support/paho_test_client.hpp"

#include <MQTTAsync.h>

#include <stdexcept>

namespace mqttsn::test {

// One pending request: Paho's onSuccess/onFailure set `done`/`ok` and notify.
struct PahoTestClient::Waiter {
  PahoTestClient* self;
  bool done = false;
  bool ok = false;
  int code = 0;

  static void success(void* ctx, MQTTAsync_successData* d) {
    auto* w = static_cast<Waiter*>(ctx);
    std::lock_guard lock(w->self->mutex_);
    w->done = true;
    // A SUBACK 0x80 comes back as success with qos 0x80 on some Paho versions.
    w->ok = !(d != nullptr && d->alt.qos == 0x80 && w->code == 1);
    w->self->cv_.notify_all();
  }
  static void failure(void* ctx, MQTTAsync_failureData* d) {
    auto* w = static_cast<Waiter*>(ctx);
    std::lock_guard lock(w->self->mutex_);
    w->done = true;
    w->ok = false;
    w->code = d != nullptr ? d->code : -1;
    w->self->cv_.notify_all();
  }
};

PahoTestClient::PahoTestClient(TestClientOptions options) : options_(std::move(options)) {
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  MQTTAsync c = nullptr;
  if (MQTTAsync_createWithOptions(&c, options_.uri.c_str(), options_.client_id.c_str(),
                                  MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co) != MQTTASYNC_SUCCESS)
    throw std::runtime_error("cannot create a Paho client for " + options_.uri);
  client_ = c;
  MQTTAsync_setCallbacks(c, this, &PahoTestClient::on_lost, &PahoTestClient::on_message, nullptr);
  MQTTAsync_setConnected(c, this, &PahoTestClient::on_connected);
}

PahoTestClient::~PahoTestClient() {
  MQTTAsync c = client_;
  if (connected()) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = 500;
    MQTTAsync_disconnect(c, &d);
  }
  MQTTAsync_destroy(&c);
}

int PahoTestClient::on_message(void* ctx, char* topic, int topic_len, MQTTAsync_message* m) {
  auto* self = static_cast<PahoTestClient*>(ctx);
  ReceivedMessage r;
  r.topic = topic_len > 0 ? std::string(topic, static_cast<std::size_t>(topic_len)) : std::string(topic);
  r.payload.assign(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen));
  r.qos = m->qos;
  r.retained = m->retained != 0;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  {
    std::lock_guard lock(self->mutex_);
    self->messages_.push_back(std::move(r));
  }
  self->cv_.notify_all();
  return 1;
}

void PahoTestClient::on_lost(void* ctx, char*) {
  auto* self = static_cast<PahoTestClient*>(ctx);
  std::lock_guard lock(self->mutex_);
  self->connected_ = false;
  self->cv_.notify_all();
}

void PahoTestClient::on_connected(void* ctx, char*) {
  auto* self = static_cast<PahoTestClient*>(ctx);
  std::lock_guard lock(self->mutex_);
  self->connected_ = true;
  self->cv_.notify_all();
}

bool PahoTestClient::wait_result(Waiter& w, Millis timeout) {
  std::unique_lock lock(mutex_);
  bool finished = cv_.wait_for(lock, timeout, [&] { return w.done; });
  if (!finished) {
    // Paho may still call back into `w`: wait for it (bounded by Paho's own timeouts) so `w` outlives it.
    cv_.wait_for(lock, Millis(30000), [&] { return w.done; });
    return false;
  }
  return w.ok;
}

bool PahoTestClient::connect(Millis timeout) {
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.keepAliveInterval = options_.keep_alive_s;
  o.cleansession = options_.clean_session ? 1 : 0;
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.connectTimeout = static_cast<int>(std::max<Millis::rep>(1, timeout.count() / 1000));
  o.automaticReconnect = options_.auto_reconnect ? 1 : 0;
  o.minRetryInterval = 1;
  o.maxRetryInterval = 2;
  if (!options_.username.empty()) o.username = options_.username.c_str();
  if (!options_.password.empty()) o.password = options_.password.c_str();
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (!options_.ca_file.empty()) {
    ssl.trustStore = options_.ca_file.c_str();
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1;
    o.ssl = &ssl;
  }
  Waiter w{this};
  o.onSuccess = &Waiter::success;
  o.onFailure = &Waiter::failure;
  o.context = &w;
  if (MQTTAsync_connect(client_, &o) != MQTTASYNC_SUCCESS) return false;
  bool ok = wait_result(w, timeout);
  if (ok) {
    std::lock_guard lock(mutex_);
    connected_ = true;
  }
  return ok;
}

bool PahoTestClient::subscribe(const std::string& filter, int qos, Millis timeout) {
  Waiter w{this};
  w.code = 1;  // marks a subscribe (see Waiter::success)
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = &Waiter::success;
  ro.onFailure = &Waiter::failure;
  ro.context = &w;
  if (MQTTAsync_subscribe(client_, filter.c_str(), qos, &ro) != MQTTASYNC_SUCCESS) return false;
  return wait_result(w, timeout);
}

bool PahoTestClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                             Millis timeout) {
  Waiter w{this};
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = &Waiter::success;
  ro.onFailure = &Waiter::failure;
  ro.context = &w;
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = const_cast<char*>(payload.data());
  m.payloadlen = static_cast<int>(payload.size());
  m.qos = qos;
  m.retained = retain ? 1 : 0;
  if (MQTTAsync_sendMessage(client_, topic.c_str(), &m, &ro) != MQTTASYNC_SUCCESS) return false;
  return wait_result(w, timeout);
}

void PahoTestClient::disconnect() {
  Waiter w{this};
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  d.onSuccess = [](void* ctx, MQTTAsync_successData* data) { Waiter::success(ctx, data); };
  d.onFailure = &Waiter::failure;
  d.context = &w;
  if (MQTTAsync_disconnect(client_, &d) == MQTTASYNC_SUCCESS) wait_result(w, Millis(3000));
  std::lock_guard lock(mutex_);
  connected_ = false;
}

bool PahoTestClient::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

bool PahoTestClient::wait_for(std::size_t n, Millis timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

bool PahoTestClient::wait_until(const std::function<bool(const std::vector<ReceivedMessage>&)>& pred,
                                Millis timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return pred(messages_); });
}

std::set<std::string> PahoTestClient::wait_for_payloads(const std::set<std::string>& expected,
                                                        Millis timeout) {
  const auto missing = [&] {
    std::set<std::string> left = expected;
    for (const auto& m : messages_) left.erase(m.payload);
    return left;
  };
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return missing().empty(); });
  return missing();
}

std::vector<ReceivedMessage> PahoTestClient::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::size_t PahoTestClient::count() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

void PahoTestClient::clear() {
  std::lock_guard lock(mutex_);
  messages_.clear();
}

}  // namespace mqttsn::test
