#include "tools/sim/xbee_coordinator_pty.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace mqttsn::sim {

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Removes `path` only if it is still our symlink to `target` (another run may have replaced it).
void remove_link_if_ours(const std::string& path, const std::string& target) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return;
  buf[n] = '\0';
  if (target == buf) ::unlink(path.c_str());
}

}  // namespace

XbeeCoordinatorPty::XbeeCoordinatorPty(uv_loop_t* loop, CoordinatorConfig cfg,
                                       std::vector<XbeeNodeAddress> nodes)
    : loop_(loop), coord_(cfg, std::move(nodes)) {}

XbeeCoordinatorPty::~XbeeCoordinatorPty() {
  close();
}

bool XbeeCoordinatorPty::open(const std::string& link_path, std::string& error) {
  master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (master_ < 0) {
    error = errno_text("posix_openpt");
    return false;
  }
  if (::grantpt(master_) != 0 || ::unlockpt(master_) != 0) {
    error = errno_text("grantpt/unlockpt");
    close();
    return false;
  }
  char name[128];
  if (::ptsname_r(master_, name, sizeof name) != 0) {
    error = errno_text("ptsname_r");
    close();
    return false;
  }
  slave_path_ = name;
  slave_keep_ = ::open(name, O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (slave_keep_ < 0) {
    error = errno_text("open pty slave");
    close();
    return false;
  }
  // Raw 8N1 from the start: with the default line discipline the slave would echo every frame we
  // write straight back to us, and translate CR/LF octets inside frames.
  termios tio{};
  if (::tcgetattr(slave_keep_, &tio) == 0) {
    ::cfmakeraw(&tio);
    ::cfsetispeed(&tio, B115200);
    ::cfsetospeed(&tio, B115200);
    ::tcsetattr(slave_keep_, TCSANOW, &tio);
  }
  if (!link_path.empty()) {
    struct stat st {};
    if (::lstat(link_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      error = "--link " + link_path + " is a directory";
      close();
      return false;
    }
    ::unlink(link_path.c_str());
    if (::symlink(slave_path_.c_str(), link_path.c_str()) != 0) {
      error = errno_text(("symlink " + link_path).c_str());
      close();
      return false;
    }
    link_path_ = link_path;
  }
  poll_ = new uv_poll_t;
  if (int rc = uv_poll_init(loop_, poll_, master_); rc != 0) {
    delete poll_;
    poll_ = nullptr;
    error = std::string("uv_poll_init: ") + uv_strerror(rc);
    close();
    return false;
  }
  poll_->data = this;
  update_poll();
  return true;
}

void XbeeCoordinatorPty::update_poll() {
  if (!poll_) return;
  uv_poll_start(poll_, UV_READABLE | (want_write_ ? UV_WRITABLE : 0), &XbeeCoordinatorPty::on_poll);
}

void XbeeCoordinatorPty::on_poll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<XbeeCoordinatorPty*>(h->data);
  if (!self) return;
  if (status < 0) return;  // transient poll error: the next event retries
  if (events & UV_READABLE) self->read_available();
  if (events & UV_WRITABLE) self->flush();
}

void XbeeCoordinatorPty::read_available() {
  std::uint8_t buf[4096];
  for (int rounds = 0; rounds < 64 && master_ >= 0; ++rounds) {  // bounded: let timers run too
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN (drained) or EIO (never while slave_keep_ is open)
    std::span<const std::uint8_t> chunk(buf, static_cast<std::size_t>(n));
    if (on_host_bytes_) on_host_bytes_(chunk);
    const auto frames_before = coord_.counters().frames_in;
    coord_.on_serial(chunk);
    flush();  // 0x8B / 0x88 answers first, as a radio would send them before delivering RF data
    for (auto& d : coord_.take_deliveries())
      if (receiver_) receiver_(d.node, d.datagram);
    if (coord_.counters().frames_in != frames_before && on_host_frames_) on_host_frames_();
  }
}

void XbeeCoordinatorPty::send(std::size_t node, const Datagram& d) {
  coord_.node_send(node, d.bytes, d.broadcast);
  flush();
}

void XbeeCoordinatorPty::flush() {
  auto fresh = coord_.take_serial();
  if (!fresh.empty()) {
    if (backlog_.size() + fresh.size() > kMaxBacklog) {
      ++backlog_drops_;  // the gateway is not reading: drop whole frames, never split one
    } else {
      backlog_.insert(backlog_.end(), fresh.begin(), fresh.end());
    }
  }
  std::size_t done = 0;
  while (master_ >= 0 && done < backlog_.size()) {
    ssize_t n = ::write(master_, backlog_.data() + done, backlog_.size() - done);
    if (n <= 0) break;  // EAGAIN: the tty queue is full, wait for UV_WRITABLE
    done += static_cast<std::size_t>(n);
  }
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(done));
  const bool want = !backlog_.empty();
  if (want != want_write_) {
    want_write_ = want;
    update_poll();
  }
}

void XbeeCoordinatorPty::close() {
  if (poll_) {
    poll_->data = nullptr;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (!link_path_.empty()) {
    remove_link_if_ours(link_path_, slave_path_);
    link_path_.clear();
  }
  if (slave_keep_ >= 0) ::close(slave_keep_);
  if (master_ >= 0) ::close(master_);
  slave_keep_ = master_ = -1;
}

}  // namespace mqttsn::sim
