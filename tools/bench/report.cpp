#include "tools/bench/report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <string>

namespace mqttsn::bench {
namespace {

using nlohmann::json;

std::string num(const json& j, int decimals = 1) {
  if (!j.is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, j.get<double>());
  return buf;
}

std::string get(const json& j, const char* a, const char* b = nullptr, int decimals = 1) {
  if (!j.is_object() || !j.contains(a)) return "-";
  if (!b) return num(j[a], decimals);
  return j[a].is_object() && j[a].contains(b) ? num(j[a][b], decimals) : "-";
}

// "50000 msgs" or "for 10 s".
std::string amount(const json& o) {
  if (o.value("duration_s", 0.0) > 0) return "for " + num(o["duration_s"], 0) + " s";
  return num(o["count"], 0) + " msgs";
}

void print_phase(const char* name, const json& p, std::FILE* out) {
  if (!p.is_object()) return;
  if (p.contains("error")) {
    std::fprintf(out, "  %-8s ERROR: %s\n", name, p["error"].get<std::string>().c_str());
    return;
  }
  std::fprintf(out, "  %-8s delivered %s/%s  lost %s  dup %s  rate %s msg/s\n", name,
               get(p, "delivered", nullptr, 0).c_str(), get(p, "published", nullptr, 0).c_str(),
               get(p, "lost", nullptr, 0).c_str(), get(p, "duplicates", nullptr, 0).c_str(),
               get(p, "rate", nullptr, 0).c_str());
  std::fprintf(out, "           e2e us p50 %s p99 %s p99.9 %s max %s\n",
               get(p, "e2e_latency_us", "p50").c_str(), get(p, "e2e_latency_us", "p99").c_str(),
               get(p, "e2e_latency_us", "p999").c_str(), get(p, "e2e_latency_us", "max").c_str());
  if (p.contains("ack_latency_us"))
    std::fprintf(out, "           ack us p50 %s p99 %s p99.9 %s max %s\n",
                 get(p, "ack_latency_us", "p50").c_str(), get(p, "ack_latency_us", "p99").c_str(),
                 get(p, "ack_latency_us", "p999").c_str(), get(p, "ack_latency_us", "max").c_str());
  std::fprintf(out, "           cpu %s us total, %s us/msg; rss %s kB, peak %s kB\n",
               get(p, "proc", "cpu_us", 0).c_str(), get(p, "cpu_us_per_msg", nullptr, 2).c_str(),
               get(p, "proc", "rss_kb", 0).c_str(), get(p, "proc", "hwm_kb", 0).c_str());
  if (p.contains("client")) {
    const auto& c = p["client"];
    std::fprintf(out,
                 "           retransmissions %s, EAGAIN %s, socket errors %s, gave up %s, kernel UDP rcvbuf "
                 "drops %s\n",
                 num(c["retransmissions"], 0).c_str(), num(c["send_eagain"], 0).c_str(),
                 num(c["socket_errors"], 0).c_str(), num(c["gave_up"], 0).c_str(),
                 get(p, "udp_rcvbuf_errors", nullptr, 0).c_str());
    if (c.value("rejected", 0) > 0)
      std::fprintf(out, "           PUBACK rejections %s (congestion %s)\n", num(c["rejected"], 0).c_str(),
                   num(c.value("rejected_congestion", json(0)), 0).c_str());
  }
  if (p.contains("lost_acked"))
    std::fprintf(out, "           acknowledged %s, never acknowledged %s, acknowledged and lost %s\n",
                 get(p, "acked", nullptr, 0).c_str(), get(p, "unacked", nullptr, 0).c_str(),
                 get(p, "lost_acked", nullptr, 0).c_str());
  if (p.contains("per_reading")) {
    const auto& r = p["per_reading"];
    std::fprintf(out,
                 "           per reading (%s): cpu %s us, disk %s B written, syncs %s (gateway) %s (strace), "
                 "commits %s\n",
                 get(r, "readings", nullptr, 0).c_str(), get(r, "cpu_us", nullptr, 2).c_str(),
                 get(r, "write_bytes", nullptr, 0).c_str(), get(r, "syncs", nullptr, 3).c_str(),
                 get(r, "syncs_strace", nullptr, 3).c_str(), get(r, "commits", nullptr, 3).c_str());
  }
  for (const char* k : {"store_status", "strace", "broker_outage"})
    if (p.contains(k)) std::fprintf(out, "           %s %s\n", k, p[k].dump().c_str());
  if (p.contains("subscriber"))
    std::fprintf(out, "           subscriber %s\n", p["subscriber"].dump().c_str());
}

}  // namespace

void print_summary(const json& r, std::FILE* out) {
  const auto& o = r["options"];
  const auto kind = o.value("kind", std::string("publish"));
  const auto scenario = r["scenario"].get<std::string>();
  if (kind == "publish") {
    std::fprintf(out, "== %s: QoS %d, %d clients, window %d, %s, rate %s, payload %d\n", scenario.c_str(),
                 o["qos"].get<int>(), o["clients"].get<int>(), o["window"].get<int>(), amount(o).c_str(),
                 o["rate"].get<double>() > 0 ? (num(o["rate"], 0) + "/s").c_str() : "flat out",
                 o["payload"].get<int>());
  } else {
    std::fprintf(out, "== %s: %d clients, %d topics each%s\n", scenario.c_str(), o["clients"].get<int>(),
                 o["topics_per_client"].get<int>(), kind == "idle" ? ", then idle" : "");
  }
  const auto& g = r.value("gateway", json());
  if (r.contains("direct") || g.contains("published")) {
    print_phase("gateway", g, out);
    print_phase("direct", r.value("direct", json()), out);
    if (r.contains("ratio")) {
      const auto& q = r["ratio"];
      std::fprintf(out,
                   "  ratio    gateway/direct: rate %s, cpu/msg %s, e2e p50 %s p99 %s, ack p50 %s p99 %s\n",
                   num(q["rate"], 2).c_str(), num(q["cpu_us_per_msg"], 2).c_str(),
                   num(q["e2e_p50"], 2).c_str(), num(q["e2e_p99"], 2).c_str(),
                   num(q.value("ack_p50", json()), 2).c_str(), num(q.value("ack_p99", json()), 2).c_str());
    }
    return;
  }
  if (g.contains("error")) {
    std::fprintf(out, "  ERROR: %s\n", g["error"].get<std::string>().c_str());
    return;
  }
  if (g.contains("connack_us")) {
    std::fprintf(out, "  connected %s, registered %s; all CONNACKs in %s ms, all REGACKs in %s ms\n",
                 get(g, "connected", nullptr, 0).c_str(), get(g, "registered", nullptr, 0).c_str(),
                 get(g, "all_connacks_ms").c_str(), get(g, "all_ready_ms").c_str());
    std::fprintf(out, "  CONNACK us p50 %s p99 %s max %s; retransmissions %s\n",
                 get(g, "connack_us", "p50").c_str(), get(g, "connack_us", "p99").c_str(),
                 get(g, "connack_us", "max").c_str(), get(g, "retransmissions", nullptr, 0).c_str());
  }
  if (!g.contains("connack_us")) {
    if (g.contains("connected"))
      std::fprintf(out, "  connected %s, registered %s in %s ms\n", get(g, "connected", nullptr, 0).c_str(),
                   get(g, "registered", nullptr, 0).c_str(), get(g, "connect_all_ms").c_str());
    std::fprintf(out,
                 "  idle window %s s: rss %s kB (empty gateway %s kB, %s B/client), peak %s kB, cpu %s us, "
                 "%s wake-ups/s\n",
                 get(g, "proc", "window_s").c_str(), get(g, "proc", "rss_kb", 0).c_str(),
                 get(g, "rss_kb_empty", nullptr, 0).c_str(),
                 get(g, "rss_bytes_per_client", nullptr, 0).c_str(), get(g, "proc", "hwm_kb", 0).c_str(),
                 get(g, "proc", "cpu_us", 0).c_str(), get(g, "proc", "wakeups_per_s").c_str());
  }
}

std::string markdown_header() {
  return "| scenario | load | delivered (lost, dup) | msg/s gateway / direct (x) | e2e ms p50 / p99 / p99.9 "
         "/ max: "
         "gateway (direct) | ack ms p50 / p99 / max: gateway (direct) | CPU us/msg gateway / direct (x) | "
         "gateway "
         "RSS / peak kB | notes |\n"
         "|---|---|---|---|---|---|---|---|---|\n";
}

std::string markdown_row(const json& r) {
  const auto& o = r["options"];
  const auto kind = o.value("kind", std::string("publish"));
  const auto& g = r.value("gateway", json::object());
  const auto& d = r.value("direct", json::object());
  const auto& q = r.value("ratio", json::object());
  auto ms = [](const json& j, const char* field, const char* p) {
    if (!j.is_object() || !j.contains(field) || !j[field].is_object() || !j[field].contains(p))
      return std::string("-");
    return num(json(j[field][p].get<double>() / 1000.0), 2);
  };
  auto lat = [&](const json& j, const char* field, std::initializer_list<const char*> ps) {
    std::string s;
    for (const char* p : ps) s += (s.empty() ? "" : " / ") + ms(j, field, p);
    return s;
  };
  std::string load;
  std::string row = "| " + r["scenario"].get<std::string>() + " | ";
  if (kind == "publish") {
    load = (o.value("transport", std::string("udp")) == "xbee-pty" ? "XBee pty, " : "") +
           std::string("QoS ") + std::to_string(o["qos"].get<int>()) + ", " +
           std::to_string(o["clients"].get<int>()) + " clients, window " +
           std::to_string(o["window"].get<int>()) + ", " + amount(o) + ", " +
           (o["rate"].get<double>() > 0 ? num(o["rate"], 0) + "/s" : std::string("flat out"));
  } else {
    load = std::to_string(o["clients"].get<int>()) + " clients x " +
           std::to_string(o["topics_per_client"].get<int>()) + " topics";
  }
  row += load + " | ";
  std::string notes;
  for (const auto* p : {&g, &d})
    if (p->is_object() && p->contains("error")) notes += (*p)["error"].get<std::string>() + " ";
  if (kind == "publish") {
    row += get(g, "delivered", nullptr, 0) + "/" + get(g, "published", nullptr, 0) + " (" +
           get(g, "lost", nullptr, 0) + ", " + get(g, "duplicates", nullptr, 0) + ") | ";
    row += get(g, "rate", nullptr, 0) + " / " + get(d, "rate", nullptr, 0) + " (" +
           num(q.value("rate", json()), 2) + ") | ";
    row += lat(g, "e2e_latency_us", {"p50", "p99", "p999", "max"}) + " (" +
           lat(d, "e2e_latency_us", {"p50", "p99", "p999", "max"}) + ") | ";
    row += o["qos"].get<int>() > 0 ? lat(g, "ack_latency_us", {"p50", "p99", "max"}) + " (" +
                                         lat(d, "ack_latency_us", {"p50", "p99", "max"}) + ")"
                                   : std::string("-");
    row += " | " + get(g, "cpu_us_per_msg", nullptr, 2) + " / " + get(d, "cpu_us_per_msg", nullptr, 2) +
           " (" + num(q.value("cpu_us_per_msg", json()), 2) + ") | ";
    if (g.contains("client")) {
      const auto& c = g["client"];
      if (c.value("retransmissions", 0) > 0) notes += num(c["retransmissions"], 0) + " retransmissions; ";
      if (c.value("send_eagain", 0) > 0) notes += num(c["send_eagain"], 0) + " EAGAIN; ";
      if (c.value("gave_up", 0) > 0) notes += num(c["gave_up"], 0) + " given up; ";
      if (c.value("rejected", 0) > 0)
        notes += num(c["rejected"], 0) + " PUBACK rejections (" +
                 num(c.value("rejected_congestion", json(0)), 0) + " congestion); ";
    }
    if (g.contains("xbee"))
      for (const char* k : {"coordinator_frame_errors", "backlog_drops"})
        if (g["xbee"].value(k, 0) > 0) notes += num(g["xbee"][k], 0) + " " + k + "; ";
    if (g.value("udp_rcvbuf_errors", 0) > 0)
      notes += get(g, "udp_rcvbuf_errors", nullptr, 0) + " kernel UDP drops; ";
  } else {
    row += "- | - | - | - | - | ";
    if (kind == "connect-storm") {
      notes += "all CONNACKs " + get(g, "all_connacks_ms") + " ms, all REGACKs " + get(g, "all_ready_ms") +
               " ms, CONNACK p99 " + ms(g, "connack_us", "p99") + " ms, " + get(g, "failed", nullptr, 0) +
               " failed";
    } else {
      notes += "idle " + get(g, "proc", "window_s", 0) + " s: CPU " + get(g, "proc", "cpu_us", 0) + " us, " +
               get(g, "proc", "wakeups_per_s") + " wake-ups/s";
      if (o["clients"].get<int>() > 0)
        notes += ", " + get(g, "rss_bytes_per_client", nullptr, 0) + " B/client, connected " +
                 get(g, "connected", nullptr, 0) + " in " + get(g, "connect_all_ms", nullptr, 0) + " ms";
    }
  }
  row += get(g, "proc", "rss_kb", 0) + " / " + get(g, "proc", "hwm_kb", 0) + " | " + notes + " |\n";
  return row;
}

std::string field_table(const std::vector<json>& reports, const std::string& baseline) {
  auto at = [](const json& j, std::initializer_list<const char*> path) {
    const json* p = &j;
    for (const char* k : path) {
      if (!p->is_object() || !p->contains(k)) return json();
      p = &(*p)[k];
    }
    return *p;
  };
  json base_cpu;
  for (const auto& r : reports)
    if (r.value("variant", std::string()) == baseline) base_cpu = at(r, {"gateway", "per_reading", "cpu_us"});
  std::string t = "| variant | load | readings | delivered (lost, dup) | gateway CPU us/reading (x " +
                  baseline +
                  ") | disk bytes/reading: /proc / gateway | syncs/reading: gateway / strace | store "
                  "commits/reading | PUBACK "
                  "ms p50 / p99 / "
                  "max | RSS kB after | notes |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : reports) {
    const auto& o = r.value("options", json::object());
    const auto g = at(r, {"gateway"});
    const auto pr = at(g, {"per_reading"});
    const int qos = o.value("qos", 1);
    std::string notes;
    if (g.contains("error")) notes += g["error"].get<std::string>() + "; ";
    for (const auto& e : o.value("gateway_env", json::array())) notes += "env " + e.get<std::string>() + "; ";
    if (const auto b = at(g, {"broker_outage"}); b.is_object()) {
      notes += "broker down " + num(b.value("down_s", json()), 1) + " s from " +
               num(b.value("stopped_at_s", json()), 1) + " s";
      if (b.contains("error")) notes += " (" + b["error"].get<std::string>() + ")";
      notes += "; ";
    }
    if (const auto s = at(g, {"subscriber", "reconnects"}); s.is_number() && s.get<int>() > 0)
      notes += "subscriber reconnected " + num(s, 0) + "x; ";
    if (const auto u = at(g, {"unacked"}); u.is_number() && u.get<std::uint64_t>() > 0)
      notes += num(u, 0) + " never acknowledged; ";
    if (const auto x = at(g, {"client", "retransmissions"}); x.is_number() && x.get<std::uint64_t>() > 0)
      notes += num(x, 0) + " retransmissions; ";
    if (const auto x = at(g, {"client", "rejected"}); x.is_number() && x.get<std::uint64_t>() > 0)
      notes += num(x, 0) + " PUBACK rejections; ";
    if (const auto x = at(g, {"udp_rcvbuf_errors"}); x.is_number() && x.get<std::uint64_t>() > 0)
      notes += num(x, 0) + " kernel UDP drops; ";
    if (const auto e = at(g, {"store_status", "error"}); e.is_string())
      notes += "status socket: " + e.get<std::string>() + "; ";
    if (const auto e = at(g, {"strace", "error"}); e.is_string())
      notes += "strace: " + e.get<std::string>() + "; ";
    if (const auto st = at(g, {"store_status", "state"}); st.is_string())
      notes += "store " + st.get<std::string>() + "; ";
    if (notes.size() >= 2) notes.resize(notes.size() - 2);  // the last "; "
    const auto cpu = at(pr, {"cpu_us"});
    json x = cpu.is_number() && base_cpu.is_number() && base_cpu.get<double>() > 0
                 ? json(cpu.get<double>() / base_cpu.get<double>())
                 : json();
    // A loss is a reading acknowledged to its node that never reached the subscriber (QoS 0: any
    // reading that never reached it).
    const auto lost = qos > 0 && g.contains("lost_acked") ? g["lost_acked"] : at(g, {"lost"});
    auto ms = [&](const char* p) {
      const auto v = at(g, {"ack_latency_us", p});
      return v.is_number() ? num(json(v.get<double>() / 1000.0), 1) : std::string("-");
    };
    t += "| " + r.value("variant", r.value("scenario", std::string("?"))) + " | QoS " + std::to_string(qos) +
         ", " + num(o.value("clients", json()), 0) + " nodes, " + num(o.value("rate", json()), 0) + "/s, " +
         num(o.value("payload", json()), 0) + " B, " + num(o.value("duration_s", json()), 0) + " s | " +
         num(at(pr, {"readings"}), 0) + " | " + num(at(g, {"delivered"}), 0) + " (" + num(lost, 0) + ", " +
         num(at(g, {"duplicates"}), 0) + ") | " + num(cpu, 1) + " (" + num(x, 2) + ") | " +
         num(at(pr, {"write_bytes"}), 0) + " / " + num(at(pr, {"store_bytes_written"}), 0) + " | " +
         num(at(pr, {"syncs"}), 3) + " / " + num(at(pr, {"syncs_strace"}), 3) + " | " +
         num(at(pr, {"commits"}), 3) + " | " +
         (qos > 0 ? ms("p50") + " / " + ms("p99") + " / " + ms("max") : std::string("-")) + " | " +
         num(at(g, {"proc", "rss_kb"}), 0) + " | " + notes + " |\n";
  }
  return t;
}

json machine_json() {
  json m;
  m["nproc"] = sysconf(_SC_NPROCESSORS_ONLN);
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      m["cpu"] = colon == std::string::npos ? line : line.substr(colon + 2);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) m["kernel"] = u.release;
  return m;
}

std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace mqttsn::bench
