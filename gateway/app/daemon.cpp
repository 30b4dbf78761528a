#include "gateway/app/daemon.hpp"

#include <csignal>

#include "gateway/app/options_mapping.hpp"
#include "gateway/app/status_requests.hpp"
#include "gateway/core/describe.hpp"
#include "gateway/core/log.hpp"
#include "radio/secure_link.hpp"

namespace mqttsn::app {

Daemon::Daemon(conf::GatewayConfig config, conf::ReloadableParts parts)
    : config_(std::move(config)), reloadable_(std::move(parts)) {
  uv_loop_init(&loop_);
  started_ns_ = uv_hrtime();

  for (std::size_t i = 0; i < config_.links.size(); ++i) {
    const auto& lc = config_.links[i];
    if (!lc.enabled) continue;
    radio::LinkCallbacks cb;
    cb.on_datagram = [this](const LinkAddress& from, Bytes d) { on_datagram(from, d); };
    cb.on_delivery_failure = [this](const LinkAddress& to) {
      core_->on_delivery_failure(to, now());
      arm_core_timer();
    };
    // The link index in every LinkAddress is the position in links_, so send() is one lookup.
    links_.push_back(make_link(static_cast<std::uint8_t>(links_.size()), lc, std::move(cb)));
    link_names_.push_back(lc.name);
  }

  // The admission check learns a DTLS node's authenticated identity from its link, by address.
  reloadable_.policy().set_identity_lookup([this](const LinkAddress& a) -> std::string {
    if (a.link >= links_.size()) return {};
    const auto* dtls = dynamic_cast<const radio::SecureLink*>(links_[a.link].get());
    return dtls != nullptr ? dtls->identity_of(a) : std::string();
  });
  apply_psk_keys();

  durable_ = std::make_unique<DurableStage>(config_, &loop_, *this);
  auto bridge_opts = bridge_options(config_);
  bridge_opts.durable_records = durable_->durable_records();
  bridge_ = std::make_unique<bridge::Bridge>(&loop_, std::move(bridge_opts), *durable_);
  router_ = std::make_unique<UplinkRouter>(*bridge_);
  durable_->connect_below(*router_);
  start_per_node();
  GatewayOptions core_opts = core_options(config_);
  for (const auto& link : links_) core_opts.limits.link_max_datagram.push_back(link->max_payload());
  core_ = std::make_unique<Gateway>(std::move(core_opts), *this, reloadable_.policy());
  core_->set_predefined_topics(core_predefined_topics(reloadable_.parts().predefined_topics));
  // Before the sessions are restored: each restored session tells its presence.
  core_->set_presence_observer(this);
  start_node_topics();
  if (store::Store* store = durable_->store()) {
    const std::size_t sessions = sessions_.restore(*core_, *store, now());
    durable_->set_before_commit([this](store::Store& s) {
      sessions_.collect(*core_);
      sessions_.save(*core_, s);
      if (sessions_.take_kept_filters_changed()) durable_->set_kept_filters(sessions_.kept_filters());
    });
    durable_->set_commit_failed([this] { sessions_.forget_digests(); });
    sessions_.take_kept_filters_changed();
    durable_->set_kept_filters(sessions_.kept_filters());
    const auto restored = durable_->restore();
    MQTTSN_LOG(notice,
               "store: %s: %zu kept session(s) restored, %zu message(s) queued for the broker, %zu QoS 2 "
               "exchange(s) resumed by the MQTT client",
               config_.store.path.c_str(), sessions, restored.messages, restored.resumed);
  }
  status_ = std::make_unique<StatusServer>(
      &loop_, [this](std::string_view req) { return answer_status(*this, req); },
      StatusServerLimits{config_.status.max_connections,
                         static_cast<std::size_t>(config_.status.max_reply_backlog)});
  systemd_ = std::make_unique<SystemdNotifier>(&loop_);

  uv_timer_init(&loop_, &core_timer_);
  core_timer_.data = this;
  uv_prepare_init(&loop_, &turn_end_);
  turn_end_.data = this;
  if (durable_->active())
    uv_prepare_start(&turn_end_, [](uv_prepare_t* h) { static_cast<Daemon*>(h->data)->end_of_turn(); });
  uv_timer_init(&loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
}

Daemon::~Daemon() {
  if (core_) core_->set_presence_observer(nullptr);  // node_topics_ and the links go first
  close_handles();
  // The components close their own handles when destroyed; the loop then runs their close
  // callbacks and ends. The core goes last: nothing calls it any more.
  status_.reset();
  // What still waits for the broker, and what changed, is written before the connection goes.
  if (durable_ && core_) durable_->close();
  per_node_.reset();
  router_.reset();
  bridge_.reset();
  links_.clear();
  systemd_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0) MQTTSN_LOG(warning, "event loop closed with handles still open");
}

void Daemon::close_handles() {
  if (handles_closed_) return;
  handles_closed_ = true;
  for (auto& l : links_) l->close();
  if (systemd_) systemd_->close();
  if (status_) status_->close();
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&core_timer_), reinterpret_cast<uv_handle_t*>(&node_topics_timer_),
        reinterpret_cast<uv_handle_t*>(&shutdown_timer_), reinterpret_cast<uv_handle_t*>(&node_gate_timer_),
        reinterpret_cast<uv_handle_t*>(&turn_end_), reinterpret_cast<uv_handle_t*>(&sigterm_),
        reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sighup_)})
    if (h->loop && !uv_is_closing(h)) uv_close(h, nullptr);
}

Millis Daemon::now() const {
  return Millis(static_cast<std::int64_t>(uv_hrtime() / 1'000'000));
}

double Daemon::uptime_seconds() const {
  return static_cast<double>(uv_hrtime() - started_ns_) / 1e9;
}

int Daemon::run() {
  std::signal(SIGPIPE, SIG_IGN);
  start_signals();

  std::string error;
  const auto& sc = config_.status;
  if (!sc.socket.empty() && status_->listen(sc.socket.string(), sc.mode, error) != 0) {
    // Without its status socket the gateway still does its job; say so loudly and go on.
    MQTTSN_LOG(error, "%s (the gateway runs on without a status socket)", error.c_str());
  }

  for (std::size_t i = 0; i < links_.size(); ++i) {
    const int rc = links_[i]->start(&loop_);
    if (rc != 0)
      MQTTSN_LOG(error, "link %s: cannot start: %s", link_names_[i].c_str(), uv_strerror(rc));
    else
      MQTTSN_LOG(notice, "link %s (%.*s) started", link_names_[i].c_str(),
                 static_cast<int>(links_[i]->name().size()), links_[i]->name().data());
  }
  if (!durable_->start()) {
    MQTTSN_LOG(error, "upstream: invalid options; nodes are served but nothing reaches a broker");
  }
  // After the shared connection, which initialises Paho: nodes are refused when this fails.
  if (per_node_ && !per_node_->start())
    MQTTSN_LOG(error, "upstream: the per-node connections cannot start; every node will be refused");
  else if (per_node_)
    if (const std::size_t reopened = core_->reopen_node_upstreams(); reopened > 0)
      MQTTSN_LOG(notice, "upstream: %zu restored node connection(s) being made again", reopened);
  if (node_topics_) {
    // Retained availability from before this start: nodes whose sessions did not survive it.
    durable_->subscribe(node_topics_->availability_filter(), 1);
    reading_back_ = true;
    if (config_.operations.requests) {
      request_filter_ = node_topics_->base() + "/request/+";
      durable_->subscribe(request_filter_, 1);
    }
  }
  if (const std::size_t left = durable_->take_inbox_left(); left > 0)
    MQTTSN_LOG(notice, "store: %zu message(s) from the broker for kept sessions taken from the inbox", left);
  core_->on_tick(now());
  arm_core_timer();
  // READY once the links are open and the first upstream attempt was made (Type=notify).
  systemd_->ready("serving " + std::to_string(links_.size()) + " link(s)");
  ready_sent_ = true;
  MQTTSN_LOG(notice, "mqttsn-gw ready: gateway id %u, %zu link(s), upstream %s", config_.gateway.id,
             links_.size(),
             config_.upstream.servers.empty() ? "-" : config_.upstream.servers.front().c_str());

  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

void Daemon::arm_core_timer() {
  if (shutting_down_) return;
  const auto next = core_->next_deadline();
  if (!next) {
    uv_timer_stop(&core_timer_);
    return;
  }
  const auto delay = *next - now();
  const auto ms = delay.count() < 0 ? 0 : static_cast<std::uint64_t>(delay.count());
  uv_timer_start(
      &core_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Daemon*>(t->data);
        self->core_->on_tick(self->now());
        self->arm_core_timer();
      },
      ms, 0);
}

void Daemon::on_datagram(const LinkAddress& from, Bytes datagram) {
  if (tracing_packets()) trace_packet("rx", from, datagram);
  core_->on_datagram(from, datagram, now());
  arm_core_timer();
}

bool Daemon::tracing_packets() const {
  return log::enabled(log::Level::trace) || (status_ && status_->tracing());
}

void Daemon::trace_packet(const char* direction, const LinkAddress& peer, Bytes datagram) const {
  const auto addr = peer.to_string();
  const auto text = describe(datagram);
  const char* link = link_name(peer.link).c_str();
  if (log::enabled(log::Level::trace))
    MQTTSN_LOG(trace, "%s %s %s %s", direction, link, addr.c_str(), text.c_str());
  if (status_ && status_->tracing()) trace_to_status(*status_, *core_, direction, link, peer, addr, text);
}

// ---- Outputs

void Daemon::send(const LinkAddress& to, Bytes datagram) {
  if (to.link >= links_.size()) {
    MQTTSN_LOG(warning, "send to %s: no such link", to.to_string().c_str());
    return;
  }
  if (tracing_packets()) trace_packet("tx", to, datagram);
  links_[to.link]->send(to, datagram);
}

void Daemon::broadcast(std::uint8_t link, Bytes datagram, std::uint8_t radius) {
  for (std::size_t i = 0; i < links_.size(); ++i) {
    if (link != kAllLinks && link != i) continue;
    if (tracing_packets()) {
      LinkAddress all;
      all.link = static_cast<std::uint8_t>(i);
      trace_packet("tx-broadcast", all, datagram);
    }
    links_[i]->broadcast(datagram, radius);
  }
}

void Daemon::publish(PublishId id, std::string_view client_id, std::string_view topic, Bytes payload, QoS qos,
                     bool retain) {
  bridge::PublishRequest r;
  r.id = id;
  r.client_id = client_id;
  r.topic = topic;
  r.payload = payload;
  r.qos = qos;
  r.retain = retain;
  // Through the store's stage whichever connection it goes on (router_ chooses).
  durable_->publish(r);
}

void Daemon::end_of_turn() {
  if (!core_) return;
  const bool urgent = core_->changes_urgent();
  if (!sessions_.collect(*core_)) return;
  if (!urgent) return durable_->flush_soon();  // QoS 0/1 downlink progress: with the next flush
  durable_->commit_now();
  arm_core_timer();  // the commit may have answered publishes
}

DurableStageStatus Daemon::store_status() const {
  DurableStageStatus s = durable_->stage_status();
  s.snapshots_written = sessions_.written();
  s.snapshots_unchanged = sessions_.unchanged();
  s.session_messages_written = sessions_.messages_written();
  s.session_messages_erased = sessions_.messages_erased();
  return s;
}

void Daemon::subscribe(std::string_view filter, QoS qos) {
  durable_->subscribe(filter, qos);
}
void Daemon::unsubscribe(std::string_view filter) {
  durable_->unsubscribe(filter);
}

// ---- UpstreamEvents

DownlinkReceipt Daemon::on_message(std::string_view topic, Bytes payload, QoS qos, bool retain,
                                   bridge::InboxId) {
  DownlinkReceipt receipt = core_->on_upstream_message(topic, payload, qos, retain, now());
  on_operations_message(topic, payload, retain);
  arm_core_timer();
  return receipt;
}

void Daemon::on_publish_result(PublishId id, PublishResult result) {
  if (!core_) return;
  core_->on_publish_result(id, result, now());
  arm_core_timer();
}

void Daemon::on_suback(std::string_view filter, std::optional<QoS> granted) {
  if (owns_filter(filter)) {
    if (!granted)
      MQTTSN_LOG(warning, "upstream: the broker refused the gateway's subscription to %.*s (check its ACL)",
                 static_cast<int>(filter.size()), filter.data());
    return;
  }
  core_->on_upstream_suback(filter, granted, now());
  arm_core_timer();
}

void Daemon::on_state(bridge::UpstreamState state) {
  if (!core_) return;
  const bool connected = state == bridge::UpstreamState::connected;
  if (connected != core_->upstream_connected()) {
    core_->on_upstream_state(connected, now());
    arm_core_timer();
    if (node_topics_) {
      node_topics_->on_upstream_state(connected);
      run_node_topics();
    }
  }
  if (ready_sent_) systemd_->status(std::string("upstream ") + bridge::to_string(state));
}

// ---- signals, reload, shutdown

void Daemon::start_signals() {
  auto init = [this](uv_signal_t& h, int signum, uv_signal_cb cb) {
    uv_signal_init(&loop_, &h);
    h.data = this;
    uv_signal_start(&h, cb, signum);
  };
  init(sigterm_, SIGTERM,
       [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->begin_shutdown("SIGTERM"); });
  init(sigint_, SIGINT, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->begin_shutdown("SIGINT"); });
  init(sighup_, SIGHUP, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->reload(); });
}

Daemon::ReloadOutcome Daemon::reload() {
  systemd_->reloading();
  MQTTSN_LOG(notice, "reload: re-reading %s", config_.source.c_str());
  auto result = conf::reload(config_.source, config_);
  ReloadOutcome outcome;
  outcome.ok = reloadable_.apply(result);
  if (!outcome.ok) {
    outcome.errors = conf::to_string(result.errors);
    MQTTSN_LOG(error, "reload failed; keeping the rules in force:\n%s", outcome.errors.c_str());
  } else {
    const auto& parts = reloadable_.parts();
    // The file is the rule again: what requests added or removed is undone.
    predefined_added_.clear();
    predefined_removed_.clear();
    core_->set_predefined_topics(core_predefined_topics(parts.predefined_topics));
    log::set_level(parts.logging.packet_trace ? log::Level::trace : parts.logging.level);
    apply_psk_keys();
    MQTTSN_LOG(notice,
               "reload: admission list, ACL, %zu predefined topic(s), %zu PSK file(s) and log level applied",
               parts.predefined_topics.size(), parts.psk_keys.size());
    // Looked up when a node connects: the next connection of each node uses them.
    if (parts.node_credentials)
      MQTTSN_LOG(notice, "reload: %zu node broker identit%s applied", parts.node_credentials->size(),
                 parts.node_credentials->size() == 1 ? "y" : "ies");
    for (const auto& section : result.restart_needed)
      MQTTSN_LOG(warning, "reload: %s changed; that takes effect only after a restart", section.c_str());
    outcome.restart_needed = result.restart_needed;
  }
  systemd_->reloaded();
  return outcome;
}

void Daemon::apply_psk_keys() {
  const auto& keys = reloadable_.parts().psk_keys;
  for (std::size_t i = 0; i < links_.size(); ++i) {
    auto* dtls = dynamic_cast<radio::SecureLink*>(links_[i].get());
    if (dtls == nullptr) continue;
    const auto it = keys.find(link_names_[i]);
    dtls->set_psk_keys(it != keys.end() ? it->second : nullptr);
  }
}

void Daemon::begin_shutdown(const char* why) {
  if (shutting_down_) {
    MQTTSN_LOG(warning, "%s again: stopping now", why);
    finish_shutdown();
    return;
  }
  shutting_down_ = true;
  systemd_->stopping();
  const auto grace = config_.upstream.shutdown_grace;
  MQTTSN_LOG(notice, "%s: shutting down (draining upstream for up to %lld ms)", why,
             static_cast<long long>(grace.count()));
  uv_timer_stop(&core_timer_);
  status_->close();
  // Publish `offline`, drain what is in flight, disconnect; a hard stop one second after the grace.
  // The nodes' connections first (each sends DISCONNECT, so the broker publishes no will).
  if (per_node_)
    per_node_->shutdown(grace, [this, grace] { durable_->shutdown(grace, [this] { finish_shutdown(); }); });
  else
    durable_->shutdown(grace, [this] { finish_shutdown(); });
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* t) {
        MQTTSN_LOG(warning, "shutdown grace exceeded: stopping now");
        static_cast<Daemon*>(t->data)->finish_shutdown();
      },
      static_cast<std::uint64_t>(grace.count()) + 1000, 0);
}

void Daemon::finish_shutdown() {
  if (handles_closed_) return;
  // What this turn changed, and what still waits for the broker, is on disk before the process ends.
  if (durable_) durable_->close();
  close_handles();
  MQTTSN_LOG(notice, "stopped");
  // The bridge closes its own handles in its destructor; the loop then runs dry and run() returns.
  uv_stop(&loop_);
}

}  // namespace mqttsn::app
