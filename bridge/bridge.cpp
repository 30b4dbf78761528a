// Bridge lifecycle: creating the Paho client, connecting with back-off, classifying failures,
// dispatching Paho's events on the loop, and the clean shutdown.
#include "bridge/bridge.hpp"

#include <MQTTAsync.h>

#include <algorithm>
#include <utility>

#include "bridge/broker_password.hpp"
#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_library.hpp"
#include "bridge/paho_mailbox.hpp"
#include "bridge/tcp_probe.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

namespace {

uv_timer_t* new_timer(uv_loop_t* loop, void* owner) {
  auto* t = new uv_timer_t{};
  uv_timer_init(loop, t);
  t->data = owner;
  return t;
}

void close_and_delete(uv_timer_t* t) {
  if (t == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(t),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

// Calls `done` once every handle closed with it has run its close callback.
struct CloseJoin {
  int pending = 0;
  std::function<void()> done;
};

void close_joined(uv_timer_t* t, CloseJoin* join) {
  t->data = join;
  uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) {
    auto* j = static_cast<CloseJoin*>(h->data);
    delete reinterpret_cast<uv_timer_t*>(h);
    if (--j->pending == 0) {
      auto done = std::move(j->done);
      delete j;
      if (done) done();
    }
  });
}

}  // namespace

Bridge::Bridge(uv_loop_t* loop, BridgeOptions options, UpstreamEvents& events)
    : loop_(loop),
      options_(std::move(options)),
      events_(events),
      mount_(options_.topic_prefix),
      hold_(options_.durable_records != nullptr && !options_.clean_session ? options_.downlink_ack_wait
                                                                           : Millis{0}),
      backoff_(options_.reconnect_min),
      queue_(options_.queue_max_messages, options_.queue_max_bytes) {
  options_.max_inflight = std::clamp(options_.max_inflight, 1, 65000);
  if (options_.reconnect_min.count() < 1) options_.reconnect_min = Millis{1};
  if (options_.reconnect_max < options_.reconnect_min) options_.reconnect_max = options_.reconnect_min;
  backoff_ = options_.reconnect_min;
  client_id_ = options_.client_id;
  presence_topic_ = !options_.presence_topic.empty()
                        ? options_.presence_topic
                        : options_.topic_prefix + "gateway/" + options_.gateway_id + "/state";
  servers_ = options_.servers;
  for (auto& s : servers_) server_ptrs_.push_back(s.data());
  mailbox_ = std::make_unique<detail::Mailbox>(loop_, this, &Bridge::on_mailbox);
  reconnect_timer_ = new_timer(loop_, this);
  grace_timer_ = new_timer(loop_, this);
  pump_timer_ = new_timer(loop_, this);
  forgotten_timer_ = new_timer(loop_, this);
  qos2_timer_ = new_timer(loop_, this);
  answer_timer_ = new_timer(loop_, this);
  hold_check_ = new uv_check_t{};
  uv_check_init(loop_, hold_check_);
  hold_check_->data = this;
}

Bridge::~Bridge() {
  hold_.close();
  if (client_ != nullptr) {
    // No callback runs after destroy returns; the mailbox (their context) is still alive here.
    const ReceiveHold::Call call(hold_, false);
    MQTTAsync c = client_;
    paho::api().destroy(&c);
    client_ = nullptr;
  }
  if (hold_check_ != nullptr)
    uv_close(reinterpret_cast<uv_handle_t*>(std::exchange(hold_check_, nullptr)),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
  close_and_delete(reconnect_timer_);
  close_and_delete(grace_timer_);
  close_and_delete(pump_timer_);
  close_and_delete(forgotten_timer_);
  close_and_delete(qos2_timer_);
  close_and_delete(answer_timer_);
  mailbox_.reset();
}

bool Bridge::create_client() {
  if (servers_.empty()) {
    MQTTSN_LOG(error, "upstream: no server configured");
    return false;
  }
  auto pw = resolve_password(options_);
  if (!pw.error.empty()) {
    MQTTSN_LOG(error, "upstream: %s", pw.error.c_str());
    return false;
  }
  password_ = pw.password;

  // The Paho library: the plain one unless TLS is configured (paho_library.hpp).
  const auto paho_lib = paho::load(paho::needs_tls(options_) ? paho::Flavour::tls : paho::Flavour::plain);
  if (paho_lib.api == nullptr) {
    MQTTSN_LOG(error, "upstream: %s", paho_lib.error.c_str());
    return false;
  }
  MQTTSN_LOG(info, "upstream: Paho MQTT client library %s", paho_lib.api->soname);

  // Paho's own OpenSSL set-up (locks, algorithm tables) dates from OpenSSL 1.0; OpenSSL 3
  // initialises itself on first use. Skipping it keeps ~1.4 MB of libcrypto untouched until the
  // first TLS connection (libpaho-mqtt3as; libpaho-mqtt3a has no OpenSSL). Must precede any other
  // call into the library.
  static const bool paho_initialised = [] {
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = 0;
    paho::api().global_init(&init);
    return true;
  }();
  (void)paho_initialised;

  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  co.sendWhileDisconnected = 0;  // the bridge keeps its own, bounded and ordered, offline queue
  // Paho bounds its internal command queue by this even while connected (default 100): a burst of
  // QoS 0 publishes would be refused with MQTTASYNC_MAX_BUFFERED_MESSAGES. Our queue is the bound.
  co.maxBufferedMessages = 1 << 20;
  // (persistQoS0 = 0 would spare QoS 0 commands the persistence calls, but the Paho 1.3.11 library
  // Debian ships refuses a version 3 structure with MQTTASYNC_BAD_STRUCTURE.)
  int persistence_type = MQTTCLIENT_PERSISTENCE_NONE;
  void* persistence_context = nullptr;
  if (options_.durable_records != nullptr && !options_.clean_session) {
    persistence_ = std::make_unique<PahoPersistence>(*options_.durable_records);
    persistence_type = MQTTCLIENT_PERSISTENCE_USER;
    persistence_context = persistence_->interface();
  } else if (options_.durable_records != nullptr) {
    MQTTSN_LOG(warning,
               "upstream: clean_session = true: the broker forgets packet ids on every connection, so a "
               "QoS 2 message in flight at a crash or a reconnect may reach it twice");
  }
  MQTTAsync c = nullptr;
  int rc = paho::api().createWithOptions(&c, servers_.front().c_str(), client_id_.c_str(), persistence_type,
                                         persistence_context, &co);
  if (persistence_) persistence_->restored();
  if (rc != MQTTASYNC_SUCCESS) {
    MQTTSN_LOG(error, "upstream: cannot create the MQTT client for %s (Paho error %d)",
               servers_.front().c_str(), rc);
    return false;
  }
  client_ = c;
  receive_ = std::make_unique<detail::ReceiveContext>();
  receive_->box = mailbox_.get();
  receive_->kept = &kept_filters_;
  receive_->persistence = persistence_.get();
  receive_->hold = &hold_;
  paho::api().setCallbacks(c, receive_.get(), detail::paho_connection_lost, detail::paho_message_arrived,
                           nullptr);
  return true;
}

bool Bridge::recreate_client() {
  // Paho keeps a QoS 2 exchange that the broker ended with a PUBACK open, over a message it has
  // already freed, and would resend it (garbage, as a QoS 2 PUBLISH) at the next connection; one the
  // broker left unanswered it would resend as QoS 2 beside our QoS 1 copy. A fresh client has none
  // of them: their records are gone (PahoPersistence::settle_qos2). What Paho held in flight is
  // sent again by us: QoS 1 may repeat.
  take_back_inflight();
  if (client_ != nullptr) {
    const ReceiveHold::Call call(hold_, false);
    MQTTAsync c = client_;
    paho::api().destroy(&c);
    client_ = nullptr;
  }
  paho_holds_acked_qos2_ = false;
  MQTTSN_LOG(info, "upstream: a new MQTT client, without the QoS 2 exchanges the broker will not complete");
  return create_client();
}

bool Bridge::start() {
  if (phase_ != Phase::idle) return phase_ == Phase::running;
  if (!create_client()) return false;
  phase_ = Phase::running;
  set_state(UpstreamState::connecting, "");
  connect_now();
  return true;
}

void Bridge::connect_now() {
  if (phase_ != Phase::running || connected_ || connect_in_progress_) return;
  if (paho_holds_acked_qos2_ || client_ == nullptr) {
    if (!recreate_client()) {
      set_state(UpstreamState::connecting, "cannot create the MQTT client");
      schedule_reconnect();
      return;
    }
  }
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.keepAliveInterval = static_cast<int>(options_.keep_alive.count());
  o.cleansession = options_.clean_session ? 1 : 0;
  o.maxInflight = options_.max_inflight + 16;  // room for the presence messages
  o.connectTimeout = std::max(1, static_cast<int>((options_.connect_timeout.count() + 999) / 1000));
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.automaticReconnect = 0;
  o.serverURIs = &server_ptrs_[server_index_];
  o.serverURIcount = 1;
  o.onSuccess = detail::paho_connect_ok;
  o.onFailure = detail::paho_connect_failed;
  o.context = mailbox_.get();

  MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
  if (options_.presence) {
    will.topicName = presence_topic_.c_str();
    will.message = options_.presence_offline.c_str();
    will.retained = 1;
    will.qos = 1;
    o.will = &will;
  }
  if (!options_.username.empty()) o.username = options_.username.c_str();
  if (password_) o.password = password_->c_str();

  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (paho::needs_tls(options_)) {
    const auto& t = options_.tls;
    ssl.trustStore = t.ca_file.empty() ? nullptr : t.ca_file.c_str();
    ssl.CApath = t.ca_dir.empty() ? nullptr : t.ca_dir.c_str();
    ssl.keyStore = t.cert_file.empty() ? nullptr : t.cert_file.c_str();
    ssl.privateKey = t.key_file.empty() ? nullptr : t.key_file.c_str();
    ssl.enableServerCertAuth = 1;
    ssl.verify = t.verify_host_name ? 1 : 0;
    ssl.sslVersion = static_cast<int>(t.min_version);
    ssl.ssl_error_cb = detail::paho_ssl_error;
    ssl.ssl_error_context = mailbox_.get();
    o.ssl = &ssl;
  }

  tls_error_.clear();
  connect_in_progress_ = true;
  // Paho copies every string and the server list during this call.
  int rc = [&] {
    const ReceiveHold::Call call(hold_, false);
    return paho::api().connect(client_, &o);
  }();
  if (rc != MQTTASYNC_SUCCESS) {
    connect_in_progress_ = false;
    detail::ConnectFailed e{rc, "MQTTAsync_connect refused to start"};
    handle(e);
  }
}

void Bridge::schedule_reconnect() {
  MQTTSN_LOG(debug, "upstream: next connection attempt in %lld ms", static_cast<long long>(backoff_.count()));
  uv_timer_start(
      reconnect_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Bridge*>(t->data);
        self->connect_now();
      },
      static_cast<std::uint64_t>(backoff_.count()), 0);
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void Bridge::set_state(UpstreamState s, const std::string& reason) {
  if (!reason.empty()) last_error_ = reason;
  if (s == state_) {
    MQTTSN_LOG(debug, "upstream: still %s: %s", to_string(s), reason.c_str());
    return;
  }
  state_ = s;
  // One line per state change, never one per retry.
  switch (s) {
    case UpstreamState::connected:
      MQTTSN_LOG(notice, "upstream: connected to %s as '%s'", server_.c_str(), client_id_.c_str());
      break;
    case UpstreamState::connecting:
      if (reason.empty())
        MQTTSN_LOG(notice, "upstream: connecting to %s", servers_.front().c_str());
      else
        MQTTSN_LOG(warning, "upstream: %s; reconnecting (back-off %lld..%lld ms)", reason.c_str(),
                   static_cast<long long>(options_.reconnect_min.count()),
                   static_cast<long long>(options_.reconnect_max.count()));
      break;
    case UpstreamState::auth_refused:
      MQTTSN_LOG(error, "upstream: authentication refused: %s; retrying with back-off", reason.c_str());
      break;
    case UpstreamState::refused:
      MQTTSN_LOG(error, "upstream: connection refused by the broker: %s; retrying with back-off",
                 reason.c_str());
      break;
    case UpstreamState::tls_failed:
      MQTTSN_LOG(error, "upstream: TLS failed: %s; retrying with back-off", reason.c_str());
      break;
    case UpstreamState::unreachable:
      MQTTSN_LOG(warning, "upstream: broker unreachable: %s; retrying with back-off", reason.c_str());
      break;
    case UpstreamState::disconnecting:
      MQTTSN_LOG(notice, "upstream: shutting down");
      break;
    case UpstreamState::stopped:
      MQTTSN_LOG(notice, "upstream: stopped");
      break;
  }
  events_.on_state(s);
}

void Bridge::on_mailbox(uv_async_t* handle) {
  static_cast<Bridge*>(handle->data)->drain_mailbox();
}

void Bridge::drain_mailbox() {
  if (!mailbox_) return;
  auto events = mailbox_->take();
  for (auto& e : events) {
    if (phase_ == Phase::closed) break;
    std::visit([this](auto& ev) { handle(ev); }, e);
  }
}

void Bridge::handle(detail::TlsError& e) {
  MQTTSN_LOG(debug, "upstream: OpenSSL: %s", e.text.c_str());
  if (tls_error_.empty()) tls_error_ = e.text;
}

void Bridge::handle(detail::ConnectOk&) {
  connect_in_progress_ = false;
  if (phase_ != Phase::running) return;
  connected_ = true;
  qos0_in_client_ = 0;  // a new connection: what Paho held for the old one is gone
  backoff_ = options_.reconnect_min;
  server_ = servers_[server_index_];
  server_index_ = 0;  // after a loss, the list is tried from its start again
  ++counters_.connects;
  set_state(UpstreamState::connected, "");
  if (options_.presence) publish_presence(options_.presence_online);
  // The broker's time to answer what Paho resends starts now.
  for (auto& [token, m] : inflight_) m.sent_at = uv_now(loop_);
  if (qos2_timer_ != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(qos2_timer_))) {
    const auto every =
        static_cast<std::uint64_t>(std::max<long long>(100, options_.qos2_answer_timeout.count() / 4));
    uv_timer_start(
        qos2_timer_, [](uv_timer_t* t) { static_cast<Bridge*>(t->data)->give_up_silent_qos2(); }, every,
        every);
  }
  // Every active subscription again (a clean session forgot them; a kept one does no harm).
  for (auto& [filter, sub] : subscriptions_) send_subscribe(filter, sub.qos);
  // A kept session: Paho resends what it had in flight. But a publish it took just before the
  // connection broke can be dropped without a result (eclipse-paho/paho.mqtt.c#1210), and would then
  // wait here for ever. Once the resent ones had time to be acknowledged, what Paho no longer holds
  // goes out again.
  if (!options_.clean_session && !inflight_.empty() && forgotten_timer_ != nullptr)
    uv_timer_start(
        forgotten_timer_, [](uv_timer_t* t) { static_cast<Bridge*>(t->data)->take_back_forgotten(); },
        kForgottenCheckDelay.count(), 0);
  pump();
}

void Bridge::handle(detail::ConnectFailed& e) {
  connect_in_progress_ = false;
  ++counters_.connect_failures;
  if (phase_ != Phase::running) return;
  if (server_index_ + 1 < servers_.size()) {
    // The next server at once; the back-off is for when every one has failed.
    MQTTSN_LOG(debug, "upstream: %s: %s (%d); trying %s", servers_[server_index_].c_str(), e.message.c_str(),
               e.code, servers_[server_index_ + 1].c_str());
    ++server_index_;
    connect_now();
    return;
  }
  server_index_ = 0;
  UpstreamState s = UpstreamState::unreachable;
  std::string reason;
  const std::string& server =
      servers_.size() == 1 ? servers_.front() : std::string("every configured server");
  if (e.code == 4 || e.code == 5) {
    s = UpstreamState::auth_refused;
    reason = server + " refused user '" + options_.username + "' (CONNACK " + std::to_string(e.code) +
             (e.code == 4 ? ": bad user name or password)" : ": not authorised)");
  } else if (e.code >= 1 && e.code <= 3) {
    s = UpstreamState::refused;
    static const char* const kWhy[] = {"", "unacceptable protocol version", "client identifier rejected",
                                       "server unavailable"};
    reason =
        server + " refused the connection (CONNACK " + std::to_string(e.code) + ": " + kWhy[e.code] + ")";
  } else if (!tls_error_.empty()) {
    s = UpstreamState::tls_failed;
    reason = "handshake with " + server + " failed: " + tls_error_;
  } else {
    reason = server + ": " + (e.message.empty() ? "connect failed" : e.message) + " (Paho " +
             std::to_string(e.code) + ")";
    auto tls_server = std::find_if(servers_.begin(), servers_.end(), paho::is_tls_uri);
    if (tls_server != servers_.end()) {
      // Paho says "TCP/TLS connect failure" both for a refused TCP connection and for a server
      // certificate that does not match the host name. If TCP gets through, it was TLS.
      schedule_reconnect();
      std::weak_ptr<int> life = alive_;
      std::string uri = *tls_server;
      probe_tcp(loop_, uri, [this, life, uri, reason](bool tcp_ok) {
        if (life.expired() || phase_ != Phase::running || connected_) return;
        if (tcp_ok)
          set_state(UpstreamState::tls_failed,
                    "handshake with " + uri + " failed although TCP connects: the server certificate" +
                        (options_.tls.verify_host_name ? " does not match the host name, or is not trusted"
                                                       : " is not trusted") +
                        " (Paho: " + reason + ")");
        else
          set_state(UpstreamState::unreachable, reason);
      });
      return;
    }
  }
  set_state(s, reason);
  schedule_reconnect();
}

void Bridge::handle(detail::ConnectionLost& e) {
  if (!connected_) return;
  connected_ = false;
  ++counters_.connections_lost;
  if (options_.clean_session)
    take_back_inflight();
  else if (!inflight_.empty())
    MQTTSN_LOG(info, "upstream: %zu message(s) in flight; the MQTT client resends them after the reconnect",
               inflight_.size());
  subscribe_tokens_.clear();
  if (phase_ != Phase::running) {
    finish_shutdown();
    return;
  }
  backoff_ = options_.reconnect_min;
  set_state(UpstreamState::connecting, "connection to " + server_ + " lost (" + e.cause + ")");
  schedule_reconnect();
}

void Bridge::handle(detail::DisconnectDone&) {
  if (phase_ == Phase::closing) finish_shutdown();
}

void Bridge::shutdown(Millis grace, std::function<void()> done) {
  if (phase_ == Phase::closed || phase_ == Phase::closing || phase_ == Phase::draining) {
    if (done) done();
    return;
  }
  shutdown_done_ = std::move(done);
  uv_timer_stop(reconnect_timer_);
  if (!connected_) {
    finish_shutdown();
    return;
  }
  phase_ = Phase::draining;
  set_state(UpstreamState::disconnecting, "");
  if (options_.presence) publish_presence(options_.presence_offline);
  uv_timer_start(
      grace_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Bridge*>(t->data);
        if (self->phase_ == Phase::draining) self->disconnect_now();
      },
      static_cast<std::uint64_t>(std::max<Millis::rep>(grace.count(), 0)), 0);
  maybe_finish_drain();
}

void Bridge::maybe_finish_drain() {
  if (phase_ == Phase::draining && inflight_.empty() && queue_.empty()) disconnect_now();
}

void Bridge::disconnect_now() {
  phase_ = Phase::closing;
  uv_timer_stop(grace_timer_);
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  d.onSuccess = detail::paho_disconnected;
  d.onFailure = detail::paho_disconnect_failed;
  d.context = mailbox_.get();
  hold_.close();  // from here on, downlink for kept sessions is written at once
  int rc = [&] {
    const ReceiveHold::Call call(hold_, false);
    return paho::api().disconnect(client_, &d);
  }();
  if (rc != MQTTASYNC_SUCCESS) finish_shutdown();
}

void Bridge::finish_shutdown() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  connected_ = false;
  answer_now();
  fail_remaining();
  set_state(UpstreamState::stopped, "");
  // The Paho client itself is destroyed with the Bridge: destroying it here could race with the
  // Paho thread that is still returning from the callback which brought us here.
  auto* join = new CloseJoin{6, std::move(shutdown_done_)};
  close_joined(std::exchange(reconnect_timer_, nullptr), join);
  close_joined(std::exchange(grace_timer_, nullptr), join);
  close_joined(std::exchange(pump_timer_, nullptr), join);
  close_joined(std::exchange(forgotten_timer_, nullptr), join);
  close_joined(std::exchange(qos2_timer_, nullptr), join);
  close_joined(std::exchange(answer_timer_, nullptr), join);
  hold_.close();
  held_receipt_ = {};
  uv_check_stop(hold_check_);
  if (mailbox_) mailbox_->close();
}

UpstreamStatus Bridge::status() const {
  UpstreamStatus s;
  s.state = state_;
  s.server = server_.empty() && !servers_.empty() ? servers_.front() : server_;
  s.last_error = last_error_;
  s.queue_messages = queue_.size();
  s.queue_bytes = queue_.bytes();
  s.inflight = inflight_.size();
  s.qos0_in_client = qos0_in_client_;
  s.subscriptions = subscriptions_.size();
  s.kept_filters = kept_filters_.size();
  s.counters = counters_;
  if (receive_) {
    s.counters.inbox_written = receive_->inbox_written.load(std::memory_order_relaxed);
    s.counters.inbox_failed = receive_->inbox_failed.load(std::memory_order_relaxed);
    s.counters.acked_by_nodes = receive_->acked_by_nodes.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace mqttsn::bridge
