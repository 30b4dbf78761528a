#include "e2e/e2e_config.hpp"

namespace mqttsn::e2e {

namespace {
std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}
}  // namespace

std::string GatewayToml::to_toml() const {
  std::string t;
  t += "[gateway]\nid = " + std::to_string(gateway_id) + "\nadvertise_interval = \"0s\"\n";
  t += "retry_interval = " + quoted(retry_interval) + "\n";
  t += "retry_count = " + std::to_string(retry_count) + "\n";
  t += "keepalive_factor = 1.5\n";
  t += "session_expiry = " + quoted(session_expiry) + "\n";
  t += "predefined_topics_file = " + quoted(predefined_topics_file) + "\n";
  if (!xbee_device.empty()) {
    t += "\n[[link]]\nkind = \"xbee\"\nname = \"xbee\"\n";
    t += "device = " + quoted(xbee_device) + "\n";
    t += "baud = 115200\napi_mode = " + std::to_string(xbee_api_mode) +
         "\nmtu = " + std::to_string(xbee_mtu) + "\n";
  }
  if (udp_port != 0) {
    t += "\n[[link]]\nkind = \"udp\"\nname = \"udp\"\nbind_address = \"127.0.0.1\"\n";
    t += "port = " + std::to_string(udp_port) + "\nbroadcast_address = \"\"\n";
  }
  t += "\n[upstream]\nservers = [" + quoted(broker_uri);
  for (const auto& s : more_servers) t += ", " + quoted(s);
  t += "]\n";
  t += "client_id = " + quoted(upstream_client_id) + "\n";
  t += "presence_topic = " + quoted(presence_topic) + "\n";
  t += "shutdown_grace = " + quoted(shutdown_grace) + "\n";
  t += "clean_session = " + std::string(upstream_clean_session ? "true" : "false") + "\n";
  t += upstream_extra;
  t += "\n[upstream.reconnect]\nmin_backoff = " + quoted(reconnect_min) + "\n";
  t += "max_backoff = " + quoted(reconnect_max) + "\n";
  t += "\n[access]\nallow_anonymous = " + std::string(allow_anonymous ? "true" : "false") + "\n";
  t += "clients_file = " + quoted(clients_file) + "\n";
  t += "acl_file = " + quoted(acl_file) + "\n";
  t += "\n[store]\nenabled = " + std::string(store ? "true" : "false") + "\npath = \"{dir}/state.db\"\n";
  t += store_extra;
  t += extra;
  return t;
}

test::TestClientOptions paho_options(std::string uri, std::string client_id, bool clean_session) {
  test::TestClientOptions o;
  o.uri = std::move(uri);
  o.client_id = std::move(client_id);
  o.clean_session = clean_session;
  return o;
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

}  // namespace mqttsn::e2e
