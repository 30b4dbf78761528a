#pragma once
// A real mosquitto for integration tests: `/usr/sbin/mosquitto -c <throwaway config>` on a free
// loopback port, started in the constructor and killed in the destructor. No test depends on a
// broker already running. stop()/start() restart it on the same port(s) (broker-restart tests).
//
//   mqttsn::test::MosquittoBroker broker;                       // anonymous, plain TCP
//   mqttsn::test::MosquittoBroker secure({.allow_anonymous = false,
//                                         .users = {{"gw", "secret"}},
//                                         .acl = "user gw\ntopic readwrite sensors/#\n",
//                                         .tls = true});
//   broker.uri()      -> "tcp://127.0.0.1:<port>"
//   secure.tls_uri()  -> "ssl://127.0.0.1:<tls port>", secure.pki().ca_cert is its CA
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace mqttsn::test {

struct MosquittoOptions {
  bool persistence = false;  // persistence on, into the broker's temp dir (survives stop/start)
  bool allow_anonymous = true;
  std::vector<std::pair<std::string, std::string>> users;  // -> password_file (mosquitto_passwd -b)
  std::string acl;                                         // acl_file content; empty: no ACL
  bool tls = false;                                        // adds a TLS listener
  std::vector<std::string> tls_dns_names{"localhost"};     // server certificate SAN
  std::vector<std::string> tls_ip_addresses{"127.0.0.1"};
  // Options of the TLS listener itself, e.g. "require_certificate true\nuse_identity_as_username true"
  std::string tls_listener_config;
  std::string extra_config;  // appended verbatim (global options)
};

class MosquittoBroker {
 public:
  explicit MosquittoBroker(MosquittoOptions options = {});
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts (again) and waits until every listener accepts connections. Throws on failure.
  void start();
  // SIGTERM (mosquitto saves its persistence database), then SIGKILL after 10 s.
  void stop();
  bool running() const { return pid_ > 0; }
  // Freezes / thaws the broker process (SIGSTOP / SIGCONT): its clients' exchanges stay under way.
  void pause();
  void resume();

  std::uint16_t port() const { return port_; }
  std::uint16_t tls_port() const { return tls_port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string tls_uri(const std::string& host = "127.0.0.1") const {
    return "ssl://" + host + ":" + std::to_string(tls_port_);
  }
  const TestPki& pki() const { return pki_; }
  const TempDir& dir() const { return *dir_; }
  std::string log() const;  // mosquitto's output so far (for failure messages)

 private:
  void write_config();
  bool launch_and_wait();

  MosquittoOptions options_;
  std::unique_ptr<TempDir> dir_;
  TestPki pki_;
  std::string config_path_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace mqttsn::test
