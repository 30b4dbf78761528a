#include "bridge/per_node_upstream.hpp"

#include <MQTTAsync.h>

#include <algorithm>
#include <set>
#include <utility>

#include "bridge/paho_callbacks.hpp"
#include "bridge/paho_library.hpp"
#include "bridge/paho_mailbox.hpp"
#include "bridge/tcp_probe.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

const char* to_string(NodeConnectionState s) {
  switch (s) {
    case NodeConnectionState::connecting:
      return "connecting";
    case NodeConnectionState::connected:
      return "connected";
    case NodeConnectionState::reconnecting:
      return "reconnecting";
    case NodeConnectionState::closing:
      return "closing";
  }
  return "?";
}

struct PerNodeUpstream::Connection {
  PerNodeUpstream* owner = nullptr;
  std::uint64_t serial = 0;
  NodeConnectRequest request;
  std::string mqtt_client_id;
  NodeIdentity identity;
  std::string will_topic;  // as the broker sees it
  NodeConnectionState state = NodeConnectionState::connecting;
  bool told = false;  // the node's CONNACK was answered
  std::string last_error;
  std::string tls_error;          // OpenSSL's first complaint during the current attempt
  std::size_t server = 0;         // index in PerNodeOptions::servers of the current (or last good) one
  std::size_t tried_servers = 0;  // not reached in a row, this round
  std::optional<std::uint64_t> reconnect_at_ms;  // uv_now() when the next attempt is due
  MQTTAsync client = nullptr;
  std::unique_ptr<detail::Mailbox> mailbox;
  detail::ReceiveContext receive;
  bool delivery = false;  // opened by the gateway for an absent node's outbox: no will, no CONNACK to tell
  std::map<int, InFlight> publishes;                    // Paho token -> what was sent
  std::map<int, std::string> subscribes;                // Paho token -> the filter as the node named it
  std::vector<std::pair<std::string, int>> subscribed;  // renewed after a reconnect (clean sessions)
  std::vector<std::pair<std::string, QoS>> waiting_subscribes;  // asked for before the first CONNACK
};

namespace {
void close_timer(uv_timer_t* t) {
  if (t == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(t),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}
}  // namespace

PerNodeUpstream::PerNodeUpstream(uv_loop_t* loop, PerNodeOptions options, NodeUpstreamEvents& events)
    : loop_(loop), options_(std::move(options)), events_(events), mount_(options_.topic_prefix) {
  tick_ = new uv_timer_t{};
  uv_timer_init(loop_, tick_);
  tick_->data = this;
  answer_ = new uv_timer_t{};
  uv_timer_init(loop_, answer_);
  answer_->data = this;
}

PerNodeUpstream::~PerNodeUpstream() {
  // No DISCONNECT here: what is still open when the gateway goes away without shutdown() is dropped
  // like a crash would drop it, and the broker publishes the wills.
  for (auto& [serial, c] : by_serial_) {
    if (c->client != nullptr) paho::api().destroy(&c->client);
    c->mailbox.reset();
  }
  close_timer(tick_);
  close_timer(answer_);
}

bool PerNodeUpstream::start() {
  if (options_.servers.empty()) {
    MQTTSN_LOG(error, "upstream (per node): no server configured");
    return false;
  }
  const auto lib =
      paho::load(paho::is_tls_uri(options_.servers.front()) ? paho::Flavour::tls : paho::Flavour::plain);
  if (lib.api == nullptr) {
    MQTTSN_LOG(error, "upstream (per node): %s", lib.error.c_str());
    return false;
  }
  started_ = true;
  uv_timer_start(
      tick_, [](uv_timer_t* t) { static_cast<PerNodeUpstream*>(t->data)->on_tick(); }, 200, 200);
  std::string servers;
  for (const auto& uri : options_.servers) servers += (servers.empty() ? "" : ", ") + uri;
  MQTTSN_LOG(notice, "upstream: one connection per node to %s", servers.c_str());
  return true;
}

PerNodeUpstream::Connection* PerNodeUpstream::live(std::string_view client_id) const {
  auto it = live_.find(client_id);
  if (it == live_.end()) return nullptr;
  auto c = by_serial_.find(it->second);
  return c == by_serial_.end() ? nullptr : c->second.get();
}

void PerNodeUpstream::connect(const NodeConnectRequest& request) {
  std::vector<std::pair<std::string, int>> kept;
  if (Connection* old = live(request.client_id)) {
    if (request.keep_subscriptions) kept = old->subscribed;
    if (!old->delivery && old->request == request && old->client != nullptr &&
        old->state != NodeConnectionState::closing) {
      // The answer comes when the broker's does, or on the next turn when it came already.
      if (old->told && old->state == NodeConnectionState::connected) {
        old->told = false;
        old->mailbox->post(detail::ConnectOk{});
      }
      return;
    }
    begin_close(*old);
  }
  if (auto box = outboxes_.find(request.client_id); box != outboxes_.end())
    box->second.clean_session = request.clean_session;
  open_with(request, std::move(kept), false);
}

void PerNodeUpstream::open_with(const NodeConnectRequest& request,
                                std::vector<std::pair<std::string, int>> kept, bool delivery) {
  auto c = std::make_unique<Connection>();
  c->owner = this;
  c->serial = next_serial_++;
  c->request = request;
  c->delivery = delivery;
  c->subscribed = std::move(kept);
  c->mqtt_client_id = options_.client_id_prefix + request.client_id;
  Connection& conn = *c;
  by_serial_.emplace(conn.serial, std::move(c));
  live_[request.client_id] = conn.serial;
  std::string error;
  std::optional<NodeIdentity> identity =
      started_ && options_.identity ? options_.identity(request.client_id, error) : std::nullopt;
  if (!started_) error = "the per-node upstream did not start";
  if (!identity) {
    if (error.empty()) error = "no broker identity for it in the credentials file";
    MQTTSN_LOG(warning, "upstream: node %s refused: %s", request.client_id.c_str(), error.c_str());
    finish_close(conn);
    if (delivery) return give_up_outbox(request.client_id, error);
    return refuse_later(request.client_id, ReturnCode::not_supported);
  }
  if (!identity->cert_file.empty() && !paho::is_tls_uri(options_.servers.front())) {
    error = "its client certificate needs an ssl:// server, not " + options_.servers.front();
    MQTTSN_LOG(warning, "upstream: node %s refused: %s", request.client_id.c_str(), error.c_str());
    finish_close(conn);
    if (delivery) return give_up_outbox(request.client_id, error);
    return refuse_later(request.client_id, ReturnCode::not_supported);
  }
  conn.identity = std::move(*identity);
  if (request.will) conn.will_topic = mount_.upstream(request.will->topic);
  conn.mailbox = std::make_unique<detail::Mailbox>(loop_, &conn, &PerNodeUpstream::on_mailbox);
  conn.receive.box = conn.mailbox.get();
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  co.sendWhileDisconnected = 0;
  const int rc =
      paho::api().createWithOptions(&conn.client, options_.servers.front().c_str(),
                                    conn.mqtt_client_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
  if (rc != MQTTASYNC_SUCCESS) {
    conn.client = nullptr;
    MQTTSN_LOG(error, "upstream: node %s: cannot create its MQTT client (Paho %d)", request.client_id.c_str(),
               rc);
    finish_close(conn);
    if (delivery) return retry_delivery_later(request.client_id);
    return refuse_later(request.client_id, ReturnCode::congestion);
  }
  paho::api().setCallbacks(conn.client, &conn.receive, detail::paho_connection_lost,
                           detail::paho_message_arrived, nullptr);
  open(conn);
}

void PerNodeUpstream::open(Connection& c) {
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.keepAliveInterval = std::max<int>(c.request.keep_alive_s, options_.keep_alive_floor_s);
  o.cleansession = c.request.clean_session ? 1 : 0;
  o.connectTimeout = std::max(1, static_cast<int>((options_.connect_timeout.count() + 999) / 1000));
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.automaticReconnect = 0;
  o.onSuccess = detail::paho_connect_ok;
  o.onFailure = detail::paho_connect_failed;
  o.context = c.mailbox.get();
  // One server per attempt, the connection's current one (Paho copies the string during connect()):
  // Paho's own walk through several gives no word of which one failed or answered.
  char* uri = const_cast<char*>(options_.servers[c.server].c_str());
  o.serverURIs = &uri;
  o.serverURIcount = 1;
  MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
  if (c.request.will) {
    will.topicName = c.will_topic.c_str();
    will.payload.data = c.request.will->message.data();
    will.payload.len = static_cast<int>(c.request.will->message.size());
    will.message = nullptr;
    will.qos = options_.qos.publish(c.request.will->qos);
    will.retained = c.request.will->retain ? 1 : 0;
    o.will = &will;
  }
  if (!c.identity.username.empty()) o.username = c.identity.username.c_str();
  if (c.identity.password) o.password = c.identity.password->c_str();
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (paho::is_tls_uri(options_.servers[c.server])) {
    const TlsOptions& t = options_.tls;
    ssl.trustStore = t.ca_file.empty() ? nullptr : t.ca_file.c_str();
    ssl.CApath = t.ca_dir.empty() ? nullptr : t.ca_dir.c_str();
    ssl.keyStore = c.identity.cert_file.empty() ? nullptr : c.identity.cert_file.c_str();
    ssl.privateKey = c.identity.key_file.empty() ? nullptr : c.identity.key_file.c_str();
    ssl.enableServerCertAuth = 1;
    ssl.verify = t.verify_host_name ? 1 : 0;
    ssl.sslVersion = static_cast<int>(t.min_version);
    ssl.ssl_error_cb = detail::paho_ssl_error;
    ssl.ssl_error_context = c.mailbox.get();
    o.ssl = &ssl;
  }
  c.tls_error.clear();
  // Paho copies every string during this call.
  const int rc = paho::api().connect(c.client, &o);
  if (rc != MQTTASYNC_SUCCESS)
    c.mailbox->post(detail::ConnectFailed{rc, "MQTTAsync_connect refused to start"});
}

void PerNodeUpstream::on_mailbox(uv_async_t* handle) {
  auto* c = static_cast<Connection*>(handle->data);
  c->owner->take_events(*c);
}

void PerNodeUpstream::take_events(Connection& c) {
  if (!c.mailbox) return;
  const std::uint64_t serial = c.serial;
  for (auto& event : c.mailbox->take()) {
    // A handler may end the connection: stop at once when it did.
    if (!by_serial_.contains(serial) || !c.mailbox) return;
    std::visit(
        [&](auto& e) {
          using E = std::decay_t<decltype(e)>;
          const std::string& id = c.request.client_id;
          const bool current = live(id) == &c;
          if constexpr (std::is_same_v<E, detail::ConnectOk>) {
            const NodeConnectionState was = c.state;
            c.state = NodeConnectionState::connected;
            c.last_error.clear();
            c.tried_servers = 0;
            if (was != NodeConnectionState::connected)
              MQTTSN_LOG(info, "upstream: node %s connected to the broker as '%s' (user '%s') at %s",
                         id.c_str(), c.mqtt_client_id.c_str(), c.identity.username.c_str(),
                         options_.servers[c.server].c_str());
            // After a reconnect, or on a connection that replaced one for a new will.
            if (was != NodeConnectionState::connected)
              for (const auto& [filter, qos] : c.subscribed) {
                const std::string upstream = mount_.upstream(filter);
                paho::api().subscribe(c.client, upstream.c_str(), qos, nullptr);
              }
            if (!c.told) {
              c.told = true;
              if (current)
                for (auto& [filter, qos] : std::exchange(c.waiting_subscribes, {}))
                  subscribe(id, filter, qos);
              if (current && !c.delivery) events_.on_node_connack(id, ReturnCode::accepted);
            }
            if (current) send_outbox(c);
          } else if constexpr (std::is_same_v<E, detail::TlsError>) {
            MQTTSN_LOG(debug, "upstream: node %s: OpenSSL: %s", id.c_str(), e.text.c_str());
            if (c.tls_error.empty()) c.tls_error = e.text;
          } else if constexpr (std::is_same_v<E, detail::ConnectFailed>) {
            const ConnackMapping m = map_connect_failure(e.code);
            c.last_error = m.reason + (e.message.empty() ? "" : " (" + e.message + ")");
            // A server not reached (no CONNACK, no TLS complaint): the next one in `servers` is tried
            // at once; a round of all of them failed waits reconnect_delay (or refuses a new node).
            // A server that answered "no" is not asked around: the others share its users.
            const std::size_t servers = options_.servers.size();
            if (servers > 1 && e.code <= 0 && c.tls_error.empty()) {
              const std::string failed = options_.servers[c.server];
              c.server = (c.server + 1) % servers;
              if (++c.tried_servers < servers) {
                MQTTSN_LOG(debug, "upstream: node %s: %s not reached (%s); trying %s", id.c_str(),
                           failed.c_str(), c.last_error.c_str(), options_.servers[c.server].c_str());
                if (!c.told) return open(c);
                c.state = NodeConnectionState::reconnecting;
                c.reconnect_at_ms = uv_now(loop_);
                return;
              }
            }
            c.tried_servers = 0;
            if (c.told) {
              MQTTSN_LOG(debug, "upstream: node %s: connection attempt failed: %s", id.c_str(),
                         c.last_error.c_str());
              c.state = NodeConnectionState::reconnecting;
              c.reconnect_at_ms =
                  uv_now(loop_) + static_cast<std::uint64_t>(options_.reconnect_delay.count());
            } else if (e.code > 0 || !paho::is_tls_uri(options_.servers[c.server])) {
              refuse(c, "the broker said " + c.last_error, m.code);
            } else if (!c.tls_error.empty()) {
              // The handshake failed: trying again later would fail the same way.
              refuse(c, "TLS handshake failed: " + c.tls_error, ReturnCode::not_supported);
            } else {
              refuse_unless_tls(c, m);
            }
          } else if constexpr (std::is_same_v<E, detail::ConnectionLost>) {
            if (c.state == NodeConnectionState::closing) return;
            MQTTSN_LOG(warning, "upstream: node %s lost its broker connection: %s; reconnecting", id.c_str(),
                       e.cause.c_str());
            c.last_error = e.cause;
            c.state = NodeConnectionState::reconnecting;
            c.reconnect_at_ms = uv_now(loop_) + static_cast<std::uint64_t>(options_.reconnect_delay.count());
            take_back(c);
          } else if constexpr (std::is_same_v<E, detail::MessageArrived>) {
            if (!current || c.state == NodeConnectionState::closing) return;
            const auto topic = mount_.downstream(e.topic);
            if (!topic) return;
            events_.on_node_message(id, *topic, Bytes(e.payload.data(), e.payload.size()),
                                    static_cast<QoS>(e.qos), e.retained);
          } else if constexpr (std::is_same_v<E, detail::PublishDone>) {
            auto it = c.publishes.find(e.token);
            if (it == c.publishes.end()) return;
            InFlight f = std::move(it->second);
            c.publishes.erase(it);
            if (!e.ok && f.kept) {
              // Not taken: it waits in the outbox for this connection's next turn (or the next one).
              std::vector<Pending> one;
              one.push_back(std::move(*f.kept));
              return back_to_outbox(c, std::move(one));
            }
            events_.on_node_publish_result(f.id, e.ok ? PublishResult::delivered : PublishResult::congested);
            if (c.delivery && c.publishes.empty() && !outboxes_.contains(id)) begin_close(c);
          } else if constexpr (std::is_same_v<E, detail::SubscribeDone>) {
            auto it = c.subscribes.find(e.token);
            if (it == c.subscribes.end()) return;
            const std::string filter = std::move(it->second);
            c.subscribes.erase(it);
            const bool granted = e.ok && e.granted >= 0 && e.granted <= 2;
            if (granted) c.subscribed.emplace_back(filter, e.granted);
            if (!granted)
              MQTTSN_LOG(warning, "upstream: the broker refused node %s's subscription to %s (user '%s')",
                         id.c_str(), filter.c_str(), c.identity.username.c_str());
            if (current)
              events_.on_node_suback(
                  id, filter, granted ? std::optional<QoS>(static_cast<QoS>(e.granted)) : std::nullopt);
          } else if constexpr (std::is_same_v<E, detail::DisconnectDone>) {
            finish_close(c);
          }
        },
        event);
  }
}

void PerNodeUpstream::refuse(Connection& c, const std::string& why, ReturnCode rc) {
  MQTTSN_LOG(warning, "upstream: node %s refused: %s (user '%s')", c.request.client_id.c_str(), why.c_str(),
             c.identity.username.c_str());
  // Gone before the node hears it: the core's close on the refusal then finds nothing.
  const std::string client = c.request.client_id;
  const bool current = live(client) == &c;
  const bool delivery = c.delivery;
  finish_close(c);
  if (!current) return;
  if (!delivery) return events_.on_node_connack(client, rc);
  // A broker that cannot be reached now may be later; one that refuses the identity will not.
  if (rc == ReturnCode::congestion) return retry_delivery_later(client);
  give_up_outbox(client, why);
}

void PerNodeUpstream::refuse_unless_tls(Connection& c, const ConnackMapping& m) {
  // With TLS 1.3 the broker refuses a client certificate after the client's side of the handshake
  // is done, and Paho reports "TCP/TLS connect failure" without OpenSSL's words, as it does for a
  // broker that cannot be reached. A broker that accepts TCP refused the handshake, and a node
  // retrying the same certificate would be refused for ever: "not supported", not "congestion".
  const std::uint64_t serial = c.serial;
  std::weak_ptr<int> life = alive_;
  probe_tcp(loop_, options_.servers[c.server], [this, life, serial, m](bool tcp_ok) {
    if (life.expired()) return;
    auto it = by_serial_.find(serial);
    if (it == by_serial_.end()) return;
    Connection& conn = *it->second;
    if (tcp_ok) {
      conn.last_error = "TLS handshake failed although TCP connects: the broker refused " +
                        std::string(conn.identity.cert_file.empty() ? "a node without a client certificate"
                                                                    : "the node's certificate") +
                        ", or the broker's own is not trusted";
      refuse(conn, conn.last_error, ReturnCode::not_supported);
    } else {
      refuse(conn, "the broker said " + conn.last_error, m.code);
    }
  });
}

void PerNodeUpstream::publish(const PublishRequest& r) {
  Connection* c = live(r.client_id);
  if (r.kept_above) {
    Outbox& box = outboxes_[std::string(r.client_id)];
    if (c != nullptr) box.clean_session = c->request.clean_session;
    box.queued.push_back(Pending{r.id, mount_.upstream(r.topic),
                                 std::vector<std::uint8_t>(r.payload.begin(), r.payload.end()),
                                 options_.qos.publish(r.qos), r.retain});
    if (c != nullptr && c->state == NodeConnectionState::connected) send_outbox(*c);
    return;
  }
  if (c == nullptr || c->state != NodeConnectionState::connected) {
    MQTTSN_LOG(debug, "upstream: node %.*s has no broker connection: publish on %.*s dropped",
               static_cast<int>(r.client_id.size()), r.client_id.data(), static_cast<int>(r.topic.size()),
               r.topic.data());
    return answer_later(r.id, PublishResult::congested);
  }
  const std::string topic = mount_.upstream(r.topic);
  const int qos = options_.qos.publish(r.qos);
  const auto token = send(*c, topic, r.payload, qos, r.retain);
  if (!token) return answer_later(r.id, PublishResult::congested);
  if (qos == 0)
    answer_later(r.id, PublishResult::delivered);
  else if (r.id != 0)
    c->publishes[*token] = InFlight{r.id, std::nullopt};
}

std::optional<int> PerNodeUpstream::send(Connection& c, const std::string& topic, Bytes payload, int qos,
                                         bool retain) {
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = const_cast<std::uint8_t*>(payload.data());
  m.payloadlen = static_cast<int>(payload.size());
  m.qos = qos;
  m.retained = retain ? 1 : 0;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  if (qos > 0) {
    ro.onSuccess = detail::paho_publish_ok;
    ro.onFailure = detail::paho_publish_failed;
    ro.context = c.mailbox.get();
  }
  // Paho copies the message during the call.
  if (paho::api().sendMessage(c.client, topic.c_str(), &m, &ro) != MQTTASYNC_SUCCESS) return std::nullopt;
  return ro.token;
}

void PerNodeUpstream::back_to_outbox(const Connection& c, std::vector<Pending>&& in_order) {
  if (in_order.empty()) return;
  Outbox& box = outboxes_[c.request.client_id];
  box.clean_session = c.request.clean_session;
  for (auto it = in_order.rbegin(); it != in_order.rend(); ++it) box.queued.push_front(std::move(*it));
}

void PerNodeUpstream::send_outbox(Connection& c) {
  auto box = outboxes_.find(c.request.client_id);
  if (box == outboxes_.end()) {
    if (c.delivery && c.publishes.empty()) begin_close(c);  // its work is done
    return;
  }
  auto& queued = box->second.queued;
  while (!queued.empty()) {
    Pending& p = queued.front();
    const auto token = send(c, p.topic, Bytes(p.payload.data(), p.payload.size()), p.qos, p.retain);
    if (!token) return;  // refused (Paho's queue is full): the next tick tries again
    if (p.qos == 0)
      answer_later(p.id, PublishResult::delivered);
    else
      c.publishes[*token] = InFlight{p.id, std::move(p)};
    queued.pop_front();
  }
  outboxes_.erase(box);
  if (c.delivery && c.publishes.empty()) begin_close(c);
}

void PerNodeUpstream::take_back(Connection& c) {
  std::vector<Pending> back;
  for (auto& [token, f] : c.publishes) {
    if (!f.kept)
      answer_later(f.id, PublishResult::congested);
    else if (!shutting_down_)
      back.push_back(std::move(*f.kept));
  }
  c.publishes.clear();
  back_to_outbox(c, std::move(back));
}

void PerNodeUpstream::give_up_outbox(const std::string& client_id, const std::string& why) {
  auto box = outboxes_.find(client_id);
  if (box == outboxes_.end()) return;
  MQTTSN_LOG(error, "upstream: %zu message(s) of node %s cannot reach the broker under its identity (%s)",
             box->second.queued.size(), client_id.c_str(), why.c_str());
  if (!shutting_down_)
    for (const auto& p : box->second.queued) answer_later(p.id, PublishResult::congested);
  outboxes_.erase(box);
}

void PerNodeUpstream::retry_delivery_later(const std::string& client_id) {
  if (auto box = outboxes_.find(client_id); box != outboxes_.end())
    box->second.retry_at_ms = uv_now(loop_) + static_cast<std::uint64_t>(options_.reconnect_delay.count());
}

void PerNodeUpstream::open_delivery(const std::string& client_id, Outbox& box) {
  box.retry_at_ms.reset();
  MQTTSN_LOG(info, "upstream: node %s is away with %zu message(s) for the broker: delivering them as its own",
             client_id.c_str(), box.queued.size());
  NodeConnectRequest r;
  r.client_id = client_id;
  r.clean_session = box.clean_session;
  open_with(r, {}, true);
}

std::size_t PerNodeUpstream::outbox_messages() const {
  std::size_t n = 0;
  for (const auto& [id, box] : outboxes_) n += box.queued.size();
  return n;
}

void PerNodeUpstream::subscribe(std::string_view client_id, std::string_view filter, QoS qos) {
  Connection* c = live(client_id);
  if (c != nullptr && c->state == NodeConnectionState::connecting && c->client != nullptr) {
    // Made once the connection is (a restored session's, reopened before its node is back).
    c->waiting_subscribes.emplace_back(std::string(filter), qos);
    return;
  }
  if (c == nullptr || c->state != NodeConnectionState::connected) {
    // Answered on a later turn, as every answer is.
    if (c != nullptr && c->mailbox) {
      c->subscribes[-1] = std::string(filter);
      c->mailbox->post(detail::SubscribeDone{-1, false, 0x80});
    }
    return;
  }
  const std::string upstream = mount_.upstream(filter);
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = detail::paho_subscribe_ok;
  ro.onFailure = detail::paho_subscribe_failed;
  ro.context = c->mailbox.get();
  const int rc = paho::api().subscribe(c->client, upstream.c_str(), options_.qos.subscribe(qos), &ro);
  if (rc != MQTTASYNC_SUCCESS) {
    c->subscribes[-1] = std::string(filter);
    c->mailbox->post(detail::SubscribeDone{-1, false, 0x80});
    return;
  }
  c->subscribes[ro.token] = std::string(filter);
}

void PerNodeUpstream::unsubscribe(std::string_view client_id, std::string_view filter) {
  Connection* c = live(client_id);
  if (c == nullptr) return;
  std::erase_if(c->subscribed, [&](const auto& s) { return s.first == filter; });
  if (c->state != NodeConnectionState::connected) return;
  const std::string upstream = mount_.upstream(filter);
  paho::api().unsubscribe(c->client, upstream.c_str(), nullptr);
}

void PerNodeUpstream::close(std::string_view client_id) {
  if (Connection* c = live(client_id)) begin_close(*c);
}

void PerNodeUpstream::begin_close(Connection& c) {
  live_.erase(c.request.client_id);
  if (c.state == NodeConnectionState::closing) return;
  c.state = NodeConnectionState::closing;
  if (c.client == nullptr) return finish_close(c);
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = static_cast<int>(options_.close_timeout.count());
  d.onSuccess = detail::paho_disconnected;
  d.onFailure = detail::paho_disconnect_failed;
  d.context = c.mailbox.get();
  if (paho::api().disconnect(c.client, &d) != MQTTASYNC_SUCCESS) finish_close(c);
}

void PerNodeUpstream::finish_close(Connection& c) {
  if (live(c.request.client_id) == &c) live_.erase(c.request.client_id);
  take_back(c);
  if (c.client != nullptr) paho::api().destroy(&c.client);  // no callback runs after it returns
  c.client = nullptr;
  by_serial_.erase(c.serial);  // closes its mailbox
  if (shutdown_done_ && by_serial_.empty()) {
    auto done = std::exchange(shutdown_done_, nullptr);
    done();
  }
}

void PerNodeUpstream::answer_later(PublishId id, PublishResult result) {
  if (id == 0) return;
  later([this, id, result] { events_.on_node_publish_result(id, result); });
}

void PerNodeUpstream::refuse_later(const std::string& client_id, ReturnCode rc) {
  later([this, client_id, rc] { events_.on_node_connack(client_id, rc); });
}

void PerNodeUpstream::later(std::function<void()> call) {
  deferred_.push_back(std::move(call));
  uv_timer_start(
      answer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<PerNodeUpstream*>(t->data);
        for (auto& deferred : std::exchange(self->deferred_, {})) deferred();
      },
      0, 0);
}

void PerNodeUpstream::on_tick() {
  if (shutting_down_) return;
  const std::uint64_t now = uv_now(loop_);
  // Serials first: sending may end a delivery connection, which erases it from by_serial_.
  std::vector<std::uint64_t> sending;
  std::set<std::string_view> with_connection;  // closing ones too: a new one would take over theirs
  for (auto& [serial, c] : by_serial_) {
    with_connection.insert(c->request.client_id);
    if (c->state == NodeConnectionState::connected && live(c->request.client_id) == c.get() &&
        outboxes_.contains(c->request.client_id)) {
      sending.push_back(serial);  // what Paho refused to queue before
      continue;
    }
    if (c->state != NodeConnectionState::reconnecting || !c->reconnect_at_ms || *c->reconnect_at_ms > now)
      continue;
    if (options_.may_open && !options_.may_open(false)) continue;  // paced: a later tick
    c->reconnect_at_ms.reset();
    MQTTSN_LOG(debug, "upstream: node %s: connecting again", c->request.client_id.c_str());
    open(*c);
  }
  // Outboxes of nodes without a connection, once any old one of theirs has finished closing.
  std::vector<std::string> absent;
  for (const auto& [id, box] : outboxes_)
    if (!box.queued.empty() && (!box.retry_at_ms || *box.retry_at_ms <= now) && !with_connection.contains(id))
      absent.push_back(id);
  for (std::uint64_t serial : sending)
    if (auto it = by_serial_.find(serial); it != by_serial_.end()) send_outbox(*it->second);
  for (const auto& id : absent) {
    if (options_.may_open && !options_.may_open(true)) break;
    auto box = outboxes_.find(id);
    if (box != outboxes_.end()) open_delivery(id, box->second);
  }
}

void PerNodeUpstream::shutdown(Millis grace, std::function<void()> done) {
  shutting_down_ = true;
  if (by_serial_.empty()) {
    if (done) done();
    return;
  }
  shutdown_done_ = std::move(done);
  std::vector<Connection*> all;
  for (auto& [serial, c] : by_serial_) all.push_back(c.get());
  for (Connection* c : all) begin_close(*c);
  uv_timer_start(
      tick_,
      [](uv_timer_t* t) {
        auto* self = static_cast<PerNodeUpstream*>(t->data);
        while (!self->by_serial_.empty()) self->finish_close(*self->by_serial_.begin()->second);
      },
      static_cast<std::uint64_t>(grace.count()), 0);
}

std::optional<NodeConnectionStatus> PerNodeUpstream::status_of(std::string_view client_id) const {
  const Connection* c = live(client_id);
  if (c == nullptr) return std::nullopt;
  NodeConnectionStatus s{c->request.client_id,  c->mqtt_client_id, c->identity.username,
                         c->identity.cert_file, c->state,          c->last_error};
  if (auto box = outboxes_.find(client_id); box != outboxes_.end()) s.outbox = box->second.queued.size();
  s.delivery = c->delivery;
  return s;
}

}  // namespace mqttsn::bridge
