// The sd_notify(3) protocol as the gateway speaks it without libsystemd: one datagram per message to
// the socket named by $NOTIFY_SOCKET, and the watchdog interval from $WATCHDOG_USEC / $WATCHDOG_PID.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gateway/app/systemd_notify.hpp"
#include "support/temp_dir.hpp"

using mqttsn::app::SystemdNotifier;
namespace sd = mqttsn::app::sd;

namespace {

// A datagram socket bound where systemd would listen, and $NOTIFY_SOCKET pointing at it.
class NotifySocket {
 public:
  // `name` is a path, or "@name" for the abstract namespace.
  explicit NotifySocket(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(name.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@')
      addr.sun_path[0] = '\0';
    else
      ++len;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram, or "" when none is waiting.
  std::string next() {
    char buf[512];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? std::string{} : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
};

struct WatchdogEnv {
  WatchdogEnv(const char* usec, const char* pid) {
    ::setenv("WATCHDOG_USEC", usec, 1);
    if (pid != nullptr)
      ::setenv("WATCHDOG_PID", pid, 1);
    else
      ::unsetenv("WATCHDOG_PID");
  }
  ~WatchdogEnv() {
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
};

}  // namespace

TEST_CASE("systemd notify: READY, STATUS, RELOADING and STOPPING reach a socket at a path") {
  mqttsn::test::TempDir dir("sdnotify");
  NotifySocket sock(dir.file("notify"));
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    SystemdNotifier n(&loop);
    CHECK_FALSE(n.watchdog_enabled());
    n.ready("serving 2 link(s)");
    CHECK(sock.next() == "READY=1\nSTATUS=serving 2 link(s)");
    n.status("upstream connected");
    CHECK(sock.next() == "STATUS=upstream connected");
    n.reloading();
    CHECK(sock.next() == "RELOADING=1");
    n.reloaded();
    CHECK(sock.next() == "READY=1");
    n.stopping();
    CHECK(sock.next() == "STOPPING=1");
    CHECK(sock.next().empty());
    n.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("systemd notify: an abstract socket ('@' name) gets the datagram") {
  const std::string name = "@mqttsn-sdnotify-" + std::to_string(::getpid());
  NotifySocket sock(name);
  CHECK(sd::notify("READY=1"));
  CHECK(sock.next() == "READY=1");
}

TEST_CASE("systemd notify: without NOTIFY_SOCKET, or with a socket nobody bound, nothing is sent") {
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(sd::notify("READY=1"));
  mqttsn::test::TempDir dir("sdnotify");
  ::setenv("NOTIFY_SOCKET", dir.file("nobody").c_str(), 1);
  CHECK_FALSE(sd::notify("READY=1"));
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(sd::notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("systemd notify: the watchdog interval follows sd_watchdog_enabled(3)") {
  const std::string self = std::to_string(::getpid());
  {
    WatchdogEnv env("30000000", self.c_str());
    CHECK(sd::watchdog_usec() == 30000000);
  }
  {
    WatchdogEnv env("30000000", nullptr);  // no WATCHDOG_PID: meant for us
    CHECK(sd::watchdog_usec() == 30000000);
  }
  {
    WatchdogEnv env("30000000", "1");  // another process's watchdog, inherited
    CHECK(sd::watchdog_usec() == 0);
  }
  {
    WatchdogEnv env("0", self.c_str());
    CHECK(sd::watchdog_usec() == 0);
  }
  {
    WatchdogEnv env("30s", self.c_str());
    CHECK(sd::watchdog_usec() == 0);
  }
  CHECK(sd::watchdog_usec() == 0);  // unset
}

TEST_CASE("systemd notify: the loop pings WATCHDOG=1 at half the interval") {
  mqttsn::test::TempDir dir("sdnotify");
  NotifySocket sock(dir.file("notify"));
  const std::string self = std::to_string(::getpid());
  WatchdogEnv env("20000", self.c_str());  // 20 ms: a ping every 10 ms
  uv_loop_t loop;
  uv_loop_init(&loop);
  SystemdNotifier n(&loop);
  CHECK(n.watchdog_enabled());
  // The watchdog timer is unreferenced: a referenced one keeps the loop turning meanwhile.
  uv_timer_t stop;
  uv_timer_init(&loop, &stop);
  uv_timer_start(
      &stop, [](uv_timer_t* t) { uv_stop(t->loop); }, 100, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(sock.next() == "WATCHDOG=1");
  n.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&stop), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
