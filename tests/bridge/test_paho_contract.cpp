// What PahoPersistence (bridge/paho_persistence.hpp) takes for granted about Paho's insides, checked
// against the real library: Paho MQTTAsync runs over a persistence of our own that records every
// call (thread, function, key, buffers), with a real mosquitto on the other side. No public API
// promises any of it, so a Paho update that changes one of these behaviours fails here, naming the
// assumption, before it can cost a QoS 2 message its exactly-once delivery in the field.
//
// The last test runs the adapter itself under the real library, through the Bridge, and follows each
// message's tag from the durable put to its delivery.
#include <MQTTAsync.h>
#include <MQTTClientPersistence.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "bridge/durable_records.hpp"
#include "bridge_harness.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/paho_test_client.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define PAHO_CONTRACT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAHO_CONTRACT_ASAN 1
#endif
#endif

#if defined(PAHO_CONTRACT_ASAN)
#include <sanitizer/asan_interface.h>
#endif

using namespace std::chrono_literals;
using mqttsn::test::MosquittoBroker;
using mqttsn::test::MosquittoOptions;
using mqttsn::test::PahoTestClient;

#define ASSUMPTION(cond, what)                                                                 \
  CHECK_MESSAGE((cond), "Paho no longer behaves as bridge/paho_persistence.hpp assumes: " what \
                        ". Review PahoPersistence (and this test) before using this Paho version.")

// ---- Whether Paho frees a buffer our persistence handed it ---------------------------------------
//
// Without ASan: free() itself is replaced in this test program and notes the pointers being watched
// before handing them to glibc. With ASan (which has its own free()): a freed block stays poisoned
// in ASan's quarantine, so asking whether its first byte is poisoned tells.
#if !defined(PAHO_CONTRACT_ASAN)
extern "C" void __libc_free(void* p);  // glibc's free(), under the replacement below

namespace freewatch {
constexpr std::size_t kSlots = 256;
// state: 0 unused, 1 claimed, 2 watching, 3 freed since
std::atomic<int> g_state[kSlots];
std::atomic<void*> g_pointer[kSlots];
std::atomic<int> g_watching{0};
}  // namespace freewatch

extern "C" void free(void* p) noexcept {
  using namespace freewatch;
  if (p != nullptr && g_watching.load(std::memory_order_acquire) > 0) {
    for (std::size_t i = 0; i < kSlots; ++i) {
      if (g_pointer[i].load(std::memory_order_acquire) != p) continue;
      int watching = 2;
      if (g_state[i].compare_exchange_strong(watching, 3)) break;
    }
  }
  __libc_free(p);
}
#endif

namespace {

class FreeWatch {
 public:
  // -1: cannot watch (no slot left).
  static int watch(void* p) {
#if defined(PAHO_CONTRACT_ASAN)
    std::lock_guard lock(mutex());
    pointers().push_back(p);
    return static_cast<int>(pointers().size() - 1);
#else
    using namespace freewatch;
    for (std::size_t i = 0; i < kSlots; ++i) {
      int unused = 0;
      if (!g_state[i].compare_exchange_strong(unused, 1)) continue;
      g_pointer[i].store(p, std::memory_order_release);
      g_state[i].store(2, std::memory_order_release);
      g_watching.fetch_add(1, std::memory_order_acq_rel);
      return static_cast<int>(i);
    }
    return -1;
#endif
  }
  static bool freed(int slot) {
#if defined(PAHO_CONTRACT_ASAN)
    std::lock_guard lock(mutex());
    return __asan_address_is_poisoned(pointers()[static_cast<std::size_t>(slot)]) != 0;
#else
    return freewatch::g_state[slot].load(std::memory_order_acquire) == 3;
#endif
  }
  static void release(int slot) {
#if !defined(PAHO_CONTRACT_ASAN)
    using namespace freewatch;
    g_pointer[slot].store(nullptr, std::memory_order_release);
    g_state[slot].store(0, std::memory_order_release);
    g_watching.fetch_sub(1, std::memory_order_acq_rel);
#else
    (void)slot;
#endif
  }

 private:
#if defined(PAHO_CONTRACT_ASAN)
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<void*>& pointers() {
    static std::vector<void*> p;
    return p;
  }
#endif
};

// Buffers handed to Paho while it restores its records at create time, and key lists: Paho 1.3.11
// never frees them (see restoring_ in the adapter), and this test does not free a restored record
// either (Paho may still point into it). They come from functions of these names, which the sanitizer
// run's leak suppressions (scripts/lsan-suppressions.txt) name for the adapter's own.
[[gnu::noinline]] char* restore_copy(const std::string& v) {
  char* p = static_cast<char*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p != nullptr && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

[[gnu::noinline]] char** key_list(const std::map<std::string, std::string>& records) {
  auto** keys = static_cast<char**>(std::malloc((records.empty() ? 1 : records.size()) * sizeof(char*)));
  if (keys == nullptr) return nullptr;
  std::size_t i = 0;
  for (const auto& [k, v] : records) keys[i++] = strdup(k.c_str());
  return keys;
}

char* copy_out(const std::string& v) {
  char* p = static_cast<char*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p != nullptr && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

// ---- A persistence that records what Paho asks of it ---------------------------------------------

constexpr int kPahoPublishCommand = 3;  // as in bridge/paho_persistence.cpp

struct Call {
  std::size_t seq = 0;
  std::thread::id thread;
  std::string fn;  // open close put get remove keys clear contains, or "mark" (a note by the test)
  std::string key;
  std::vector<std::string> bufs;  // put: each buffer as Paho passed it
  std::string note;
};

Call call(std::string fn, std::string key = "", std::string note = "") {
  Call c;
  c.fn = std::move(fn);
  c.key = std::move(key);
  c.note = std::move(note);
  return c;
}

int as_int(const std::string& b) {
  int v = 0;
  if (b.size() == sizeof v) std::memcpy(&v, b.data(), sizeof v);
  return v;
}

// "s-17" -> 17 for prefix "s-"; -1 when `key` is not of that form.
int id_in(std::string_view key, std::string_view prefix) {
  if (key.substr(0, prefix.size()) != prefix || key.size() == prefix.size()) return -1;
  int id = 0;
  for (char c : key.substr(prefix.size())) {
    if (c < '0' || c > '9' || id > 65535) return -1;
    id = id * 10 + (c - '0');
  }
  return id;
}

// PAHO_CONTRACT_VERBOSE=1 in the environment prints what each test recorded (to compare versions).
bool verbose() {
  return std::getenv("PAHO_CONTRACT_VERBOSE") != nullptr;
}

bool starts(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

class RecordingPersistence {
 public:
  explicit RecordingPersistence(std::map<std::string, std::string> records = {})
      : records_(std::move(records)) {
    iface_.context = this;
    iface_.popen = &RecordingPersistence::open;
    iface_.pclose = &RecordingPersistence::close;
    iface_.pput = &RecordingPersistence::put;
    iface_.pget = &RecordingPersistence::get;
    iface_.premove = &RecordingPersistence::remove;
    iface_.pkeys = &RecordingPersistence::keys;
    iface_.pclear = &RecordingPersistence::clear;
    iface_.pcontainskey = &RecordingPersistence::contains;
    name_thread(std::this_thread::get_id(), "test");
  }
  ~RecordingPersistence() {
    const auto lent = settle();
    if (!verbose()) return;
    std::string freed;
    for (const auto& l : lent)
      freed += "  " + l.key + (l.restoring ? " (at create)" : "") +
               (!l.known          ? ": not watched\n"
                : l.freed_by_paho ? ": freed by Paho\n"
                                  : ": kept by Paho\n");
    std::fprintf(stderr, "%sbuffers handed out by pget()/pkeys():\n%s", dump().c_str(), freed.c_str());
  }
  RecordingPersistence(const RecordingPersistence&) = delete;
  RecordingPersistence& operator=(const RecordingPersistence&) = delete;

  MQTTClient_persistence* iface() { return &iface_; }

  // Called on Paho's thread inside pput(key), before it returns; what it returns is noted on the call.
  void on_put(std::function<std::string(const std::string& key)> hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }
  void set_creating(bool creating) {
    std::lock_guard lock(mutex_);
    creating_ = creating;
  }
  std::size_t mark(const std::string& what) { return log(call("mark", what)); }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::map<std::string, std::string> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  // Waits until a call matching `pred` is recorded; its index, or -1.
  long wait_for(const std::function<bool(const Call&)>& pred, std::chrono::milliseconds timeout = 5s) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& c : calls_)
          if (pred(c)) return static_cast<long>(c.seq);
      }
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(5ms);
    }
  }

  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::ostringstream o;
    o << "persistence calls, as Paho made them:\n";
    for (const auto& c : calls_) {
      o << "  #" << c.seq << " [" << thread_name(c.thread) << "] " << c.fn << " " << c.key;
      if (!c.bufs.empty()) {
        o << " bufcount=" << c.bufs.size() << " buflens=";
        for (const auto& b : c.bufs) o << b.size() << ",";
        char hex[4];
        std::snprintf(hex, sizeof hex, "%02x",
                      c.bufs[0].empty() ? 0 : static_cast<unsigned char>(c.bufs[0][0]));
        o << " first byte 0x" << hex;
      }
      if (!c.note.empty()) o << " (" << c.note << ")";
      o << "\n";
    }
    return o.str();
  }

  struct Lent {
    std::string key;
    bool restoring = false;  // handed out while MQTTAsync_createWithOptions ran
    bool key_list = false;   // a pkeys() array
    bool freed_by_paho = false;
    bool known = false;  // false: could not be watched
  };
  // Call once Paho is done with this persistence (after MQTTAsync_destroy): which of the buffers
  // pget()/pkeys() handed out Paho freed. A command's buffer Paho kept is freed here.
  std::vector<Lent> settle() {
    std::lock_guard lock(mutex_);
    for (auto& l : lent_) {
      if (l.slot < 0) continue;
      l.info.known = true;
      l.info.freed_by_paho = FreeWatch::freed(l.slot);
      FreeWatch::release(l.slot);
      l.slot = -1;
      // Buffers restored at create may still be pointed into by Paho's restored messages: never ours
      // to free (see restore_copy). A command's buffer is Paho's copy source only.
      if (!l.info.freed_by_paho && starts(l.info.key, "c-") && !l.info.restoring) std::free(l.buffer);
    }
    std::vector<Lent> out;
    for (const auto& l : lent_) out.push_back(l.info);
    return out;
  }

 private:
  struct LentBuffer {
    Lent info;
    void* buffer = nullptr;
    int slot = -1;
  };

  void lend(const std::string& key, void* buffer, bool is_key_list) {  // under mutex_
    LentBuffer l;
    l.info.key = key;
    l.info.restoring = creating_;
    l.info.key_list = is_key_list;
    l.buffer = buffer;
    l.slot = FreeWatch::watch(buffer);
    lent_.push_back(std::move(l));
  }

  std::string thread_name(std::thread::id id) const {  // under mutex_
    auto it = thread_names_.find(id);
    return it == thread_names_.end() ? "?" : it->second;
  }

  static RecordingPersistence& self(void* handle) { return *static_cast<RecordingPersistence*>(handle); }

  void name_thread(std::thread::id id, const std::string& name) {
    if (thread_names_.count(id) == 0)
      thread_names_[id] = name.empty() ? "paho-" + std::to_string(thread_names_.size()) : name;
  }
  std::size_t log(Call c) {
    std::lock_guard lock(mutex_);
    return log_locked(std::move(c));
  }
  std::size_t log_locked(Call c) {
    c.seq = calls_.size();
    c.thread = std::this_thread::get_id();
    name_thread(c.thread, "");
    calls_.push_back(std::move(c));
    return calls_.back().seq;
  }

  static int open(void** handle, const char* client_id, const char*, void* context) {
    *handle = context;
    self(context).log(call("open", client_id != nullptr ? client_id : ""));
    return 0;
  }
  static int close(void* handle) {
    self(handle).log(call("close"));
    return 0;
  }
  static int put(void* handle, char* key, int bufcount, char* buffers[], int buflens[]) {
    auto& p = self(handle);
    Call c = call("put", key);
    std::string value;
    for (int i = 0; i < bufcount; ++i) {
      c.bufs.emplace_back(buffers[i], static_cast<std::size_t>(buflens[i]));
      value += c.bufs.back();
    }
    std::function<std::string(const std::string&)> hook;
    std::size_t seq = 0;
    {
      std::lock_guard lock(p.mutex_);
      p.records_[key] = std::move(value);
      hook = p.hook_;
      seq = p.log_locked(std::move(c));
    }
    if (!hook) return 0;
    std::string note = hook(key);  // outside our lock: the hook may take its time
    std::lock_guard lock(p.mutex_);
    p.calls_[seq].note = std::move(note);
    return 0;
  }
  static int get(void* handle, char* key, char** buffer, int* buflen) {
    auto& p = self(handle);
    std::lock_guard lock(p.mutex_);
    auto it = p.records_.find(key);
    p.log_locked(call("get", key, it == p.records_.end() ? "not there" : ""));
    if (it == p.records_.end()) return MQTTCLIENT_PERSISTENCE_ERROR;
    char* b = p.creating_ ? restore_copy(it->second) : copy_out(it->second);
    if (b == nullptr) return MQTTCLIENT_PERSISTENCE_ERROR;
    *buffer = b;
    *buflen = static_cast<int>(it->second.size());
    p.lend(key, b, false);
    return 0;
  }
  static int remove(void* handle, char* key) {
    auto& p = self(handle);
    std::lock_guard lock(p.mutex_);
    const bool had = p.records_.erase(key) > 0;
    p.log_locked(call("remove", key, had ? "" : "not there"));
    return 0;
  }
  static int keys(void* handle, char*** keys, int* nkeys) {
    auto& p = self(handle);
    std::lock_guard lock(p.mutex_);
    std::string listed;
    for (const auto& [k, v] : p.records_) listed += k + " ";
    p.log_locked(call("keys", "", listed));
    *nkeys = static_cast<int>(p.records_.size());
    *keys = nullptr;
    if (p.records_.empty()) return 0;
    *keys = key_list(p.records_);
    if (*keys == nullptr) return MQTTCLIENT_PERSISTENCE_ERROR;
    p.lend("(key list)", *keys, true);
    return 0;
  }
  static int clear(void* handle) {
    auto& p = self(handle);
    std::lock_guard lock(p.mutex_);
    p.records_.clear();
    p.log_locked(call("clear"));
    return 0;
  }
  static int contains(void* handle, char* key) {
    auto& p = self(handle);
    std::lock_guard lock(p.mutex_);
    const bool has = p.records_.count(key) > 0;
    p.log_locked(call("contains", key, has ? "yes" : "no"));
    return has ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
  }

  MQTTClient_persistence iface_{};
  mutable std::mutex mutex_;
  std::map<std::string, std::string> records_;
  std::vector<Call> calls_;
  std::map<std::thread::id, std::string> thread_names_;
  std::vector<LentBuffer> lent_;
  std::function<std::string(const std::string&)> hook_;
  bool creating_ = false;
};

// ---- A bare Paho client over that persistence, set up as the Bridge sets up its own --------------

class RawClient {
 public:
  RawClient(const std::string& uri, const std::string& client_id, RecordingPersistence& p) : p_(p) {
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = MQTTVERSION_3_1_1;
    co.sendWhileDisconnected = 0;
    co.maxBufferedMessages = 1 << 20;
    p.set_creating(true);
    create_begins_ = p.mark("MQTTAsync_createWithOptions begins");
    const int rc = MQTTAsync_createWithOptions(&client_, uri.c_str(), client_id.c_str(),
                                               MQTTCLIENT_PERSISTENCE_USER, p.iface(), &co);
    create_returned_ = p.mark("MQTTAsync_createWithOptions returned");
    p.set_creating(false);
    REQUIRE_MESSAGE(rc == MQTTASYNC_SUCCESS, "MQTTAsync_createWithOptions: ", rc);
    MQTTAsync_setCallbacks(client_, this, nullptr, &RawClient::arrived, nullptr);
  }
  ~RawClient() { destroy(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  std::size_t create_begins() const { return create_begins_; }
  std::size_t create_returned() const { return create_returned_; }

  // Connects (MQTT 3.1.1, no automatic reconnect) and waits for the CONNACK.
  bool connect(bool clean_session) {
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    o.keepAliveInterval = 30;
    o.cleansession = clean_session ? 1 : 0;
    o.MQTTVersion = MQTTVERSION_3_1_1;
    o.connectTimeout = 5;
    o.automaticReconnect = 0;
    o.onSuccess = &RawClient::connected;
    o.onFailure = &RawClient::connect_failed;
    o.context = this;
    connect_begins_ = p_.mark("MQTTAsync_connect");
    if (MQTTAsync_connect(client_, &o) != MQTTASYNC_SUCCESS) return false;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return connect_done_; });
    return connected_;
  }
  bool session_present() const {
    std::lock_guard lock(mutex_);
    return session_present_;
  }
  std::size_t connect_begins() const { return connect_begins_; }

  struct Sent {
    int rc = -1;
    int token = 0;
    std::size_t begins = 0;    // call index of the mark before MQTTAsync_sendMessage
    std::size_t returned = 0;  // and after it
  };
  Sent publish(const std::string& topic, const std::string& payload, int qos) {
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = const_cast<char*>(payload.data());
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = &RawClient::published;
    ro.onFailure = &RawClient::publish_failed;
    ro.context = this;
    Sent s;
    s.begins = p_.mark("MQTTAsync_sendMessage begins (" + topic + ")");
    s.rc = MQTTAsync_sendMessage(client_, topic.c_str(), &m, &ro);
    s.token = ro.token;
    s.returned = p_.mark("MQTTAsync_sendMessage returned, token " + std::to_string(ro.token));
    return s;
  }
  // Waits for the publish's onSuccess/onFailure: true on success.
  bool wait_done(int token, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return done_.count(token) > 0; });
    auto it = done_.find(token);
    return it != done_.end() && it->second;
  }

  // No DISCONNECT first when the process "dies": Paho's destroy closes the socket (it writes a
  // DISCONNECT if it can, which keeps the broker's session all the same: cleansession is 0).
  void destroy() {
    if (client_ == nullptr) return;
    MQTTAsync_destroy(&client_);
    client_ = nullptr;
  }

 private:
  static int arrived(void*, char* topic, int, MQTTAsync_message* m) {
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
  }
  static void connected(void* ctx, MQTTAsync_successData* d) {
    auto* self = static_cast<RawClient*>(ctx);
    std::lock_guard lock(self->mutex_);
    self->connect_done_ = true;
    self->connected_ = true;
    self->session_present_ = d != nullptr && d->alt.connect.sessionPresent != 0;
    self->cv_.notify_all();
  }
  static void connect_failed(void* ctx, MQTTAsync_failureData*) {
    auto* self = static_cast<RawClient*>(ctx);
    std::lock_guard lock(self->mutex_);
    self->connect_done_ = true;
    self->cv_.notify_all();
  }
  static void published(void* ctx, MQTTAsync_successData* d) {
    auto* self = static_cast<RawClient*>(ctx);
    self->p_.mark("onSuccess, token " + std::to_string(d->token));
    std::lock_guard lock(self->mutex_);
    self->done_[d->token] = true;
    self->cv_.notify_all();
  }
  static void publish_failed(void* ctx, MQTTAsync_failureData* d) {
    auto* self = static_cast<RawClient*>(ctx);
    self->p_.mark("onFailure, token " + std::to_string(d->token));
    std::lock_guard lock(self->mutex_);
    self->done_[d->token] = false;
    self->cv_.notify_all();
  }

  RecordingPersistence& p_;
  MQTTAsync client_ = nullptr;
  std::size_t create_begins_ = 0, create_returned_ = 0, connect_begins_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool connect_done_ = false, connected_ = false, session_present_ = false;
  std::map<int, bool> done_;
};

// ---- Helpers over the recorded calls -------------------------------------------------------------

// Index of the first call at or after `from` matching `pred`; -1 if none.
long find(const std::vector<Call>& calls, const std::function<bool(const Call&)>& pred,
          std::size_t from = 0) {
  for (std::size_t i = from; i < calls.size(); ++i)
    if (pred(calls[i])) return static_cast<long>(i);
  return -1;
}
std::function<bool(const Call&)> is(const std::string& fn, const std::string& key) {
  return [=](const Call& c) { return c.fn == fn && c.key == key; };
}
std::function<bool(const Call&)> is_prefixed(const std::string& fn, const std::string& prefix) {
  return [=](const Call& c) { return c.fn == fn && starts(c.key, prefix); };
}
// The premove this call's thread made before call `i` ("" if none): what PahoPersistence::completes()
// looks at.
std::string previous_removal_on_thread(const std::vector<Call>& calls, std::size_t i) {
  for (std::size_t j = i; j-- > 0;)
    if (calls[j].thread == calls[i].thread && calls[j].fn == "remove") return calls[j].key;
  return "";
}

// The PUBLISH packet Paho stores as "s-<id>": fixed header, remaining length, topic, packet id, payload.
struct PublishPacket {
  int type = -1, qos = -1;
  bool dup = false;
  std::string topic, payload;
  int packet_id = -1;
};
PublishPacket parse_publish(const std::string& b) {
  PublishPacket p;
  if (b.empty()) return p;
  const auto u = [&](std::size_t i) { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0u; };
  p.type = static_cast<int>(u(0) >> 4);
  p.qos = static_cast<int>((u(0) >> 1) & 3);
  p.dup = (u(0) & 0x08) != 0;
  std::size_t i = 1;
  std::size_t remaining = 0, shift = 0;
  while (i < b.size() && i < 5) {
    remaining |= static_cast<std::size_t>(u(i) & 0x7f) << shift;
    shift += 7;
    if ((u(i++) & 0x80) == 0) break;
  }
  if (i + remaining != b.size() || i + 2 > b.size()) return p;
  const std::size_t topic_len = (u(i) << 8) | u(i + 1);
  i += 2;
  if (i + topic_len > b.size()) return p;
  p.topic = b.substr(i, topic_len);
  i += topic_len;
  if (p.qos > 0) {
    if (i + 2 > b.size()) return p;
    p.packet_id = static_cast<int>((u(i) << 8) | u(i + 1));
    i += 2;
  }
  p.payload = b.substr(i);
  return p;
}

std::string paho_version() {
  for (MQTTAsync_nameValue* nv = MQTTAsync_getVersionInfo(); nv != nullptr && nv->name != nullptr; ++nv)
    if (std::strcmp(nv->name, "Version") == 0 && nv->value != nullptr) return nv->value;
  return "";
}
// As PahoPersistence decides whether Paho leaks a command's buffer (paho_at_most(1, 3, 12)).
bool paho_at_most_1_3_12() {
  int a = 0, b = 0, c = 0;
  if (std::sscanf(paho_version().c_str(), "%d.%d.%d", &a, &b, &c) != 3) return false;
  return std::tie(a, b, c) <= std::make_tuple(1, 3, 12);
}

// Whether free() inside Paho releases memory Paho did not allocate. Built with its heap tracking (Paho's
// default, and Debian's build: no PAHO_HIGH_PERFORMANCE), Paho's free() is its own myfree(), which
// releases only what Paho's malloc() handed out and merely logs "Failed to remove heap item" for
// anything else, such as the buffers a user persistence returns.
bool paho_frees_foreign_memory() {
  char* probe = static_cast<char*>(std::malloc(64));
  REQUIRE(probe != nullptr);
  const int slot = FreeWatch::watch(probe);
  REQUIRE(slot >= 0);
  MQTTAsync_free(probe);
  const bool freed = FreeWatch::freed(slot);
  FreeWatch::release(slot);
  if (!freed) std::free(probe);
  return freed;
}

// mosquitto's debug log line for a PUBLISH it received, e.g. "Received PUBLISH from c (d0, q2, r0, m1,".
std::string received_publish(const std::string& client_id) {
  return "Received PUBLISH from " + client_id + " (";
}
MosquittoOptions verbose_broker() {
  MosquittoOptions o;
  o.extra_config = "log_type debug\n";
  return o;
}

// What a QoS 2 exchange leaves behind when the process dies between PUBLISH and PUBCOMP: a client
// publishes to a frozen broker, and its records are copied as they are once "s-<id>" is written.
struct Leftover {
  std::map<std::string, std::string> records;
  int packet_id = 0;
};
Leftover leftover_of_a_crash(MosquittoBroker& broker, const std::string& client_id, const std::string& topic,
                             const std::string& payload) {
  RecordingPersistence p;
  RawClient c(broker.uri(), client_id, p);
  REQUIRE(c.connect(false));
  for (int i = 0; i < 2; ++i) {  // so that the packet id left behind is not the one a new client starts with
    const auto earlier = c.publish(topic + "/earlier", "e", 1);
    REQUIRE(earlier.rc == MQTTASYNC_SUCCESS);
    REQUIRE(c.wait_done(earlier.token));
  }
  broker.pause();
  const auto sent = c.publish(topic, payload, 2);
  REQUIRE(sent.rc == MQTTASYNC_SUCCESS);
  const std::string sent_key = "s-" + std::to_string(sent.token);
  INFO(p.dump());
  REQUIRE(p.wait_for(is("put", sent_key)) >= 0);
  Leftover left{p.records(), sent.token};
  c.destroy();
  broker.resume();
  REQUIRE(left.packet_id > 1);
  REQUIRE(left.records.count(sent_key) == 1);
  for (const auto& [key, value] : left.records) CHECK_MESSAGE(key == sent_key, "left behind: ", key);
  return left;
}

}  // namespace

// ---- The contract --------------------------------------------------------------------------------

TEST_CASE("paho contract: the library is a version PahoPersistence was checked against") {
  const std::string v = paho_version();
  INFO("MQTTAsync_getVersionInfo() Version = ", v);
  ASSUMPTION(v == "1.3.11" || v == "1.3.12",
             "every assumption there was checked on Paho 1.3.11/1.3.12 only (Debian bookworm's 1.3.12 "
             "reports 1.3.11); paho_leaks_command_buffers_ in particular is decided by the version");
}

TEST_CASE("paho contract: a QoS 2 publish, command to PUBCOMP, as PahoPersistence follows it") {
  MosquittoBroker broker(verbose_broker());
  RecordingPersistence p;
  INFO(p.dump());
  INFO(broker.log());
  RawClient c(broker.uri(), "contract-q2", p);
  REQUIRE(c.connect(false));

  // Inside pput("s-<id>"): wait a little and look whether the broker has the PUBLISH already.
  p.on_put([&](const std::string& key) -> std::string {
    if (!starts(key, "s-")) return "";
    std::this_thread::sleep_for(300ms);
    const bool seen = broker.log().find(received_publish("contract-q2")) != std::string::npos;
    return seen ? "broker had the PUBLISH 300 ms into this put"
                : "broker had no PUBLISH 300 ms into this put";
  });
  const auto sent = c.publish("contract/q2", "exactly once", 2);
  REQUIRE(sent.rc == MQTTASYNC_SUCCESS);
  REQUIRE(c.wait_done(sent.token));
  const std::string n = std::to_string(sent.token);
  p.wait_for(is("remove", "sc-" + n));  // the end of the completion path
  const auto calls = p.calls();

  // 1. The command record, on the caller's thread, during MQTTAsync_sendMessage.
  const long cmd = find(calls, is_prefixed("put", "c-"), sent.begins);
  REQUIRE_MESSAGE(cmd >= 0, "no command record (\"c-<n>\") was stored for the publish");
  const Call& command = calls[static_cast<std::size_t>(cmd)];
  ASSUMPTION(static_cast<std::size_t>(cmd) < sent.returned,
             "the PUBLISH command (\"c-<n>\") is stored during MQTTAsync_sendMessage, before it returns "
             "(PahoPersistence::Handing attaches the tag only while that call runs)");
  ASSUMPTION(command.thread == std::this_thread::get_id(),
             "the PUBLISH command (\"c-<n>\") is stored on the thread calling MQTTAsync_sendMessage "
             "(Handing is thread_local)");
  ASSUMPTION(command.bufs.size() == 7, "a stored PUBLISH command has 7 buffers (MQTT 3.1.1)");
  REQUIRE(command.bufs.size() >= 6);
  ASSUMPTION(command.bufs[0].size() == sizeof(int) && command.bufs[1].size() == sizeof(int) &&
                 command.bufs[5].size() == sizeof(int),
             "a stored PUBLISH command's buffers 0 (type), 1 (token) and 5 (qos) are ints");
  ASSUMPTION(as_int(command.bufs[0]) == kPahoPublishCommand,
             "a stored PUBLISH command's first buffer is the command type 3 (kPahoPublishCommand)");
  ASSUMPTION(as_int(command.bufs[5]) == 2, "a stored PUBLISH command's sixth buffer is its QoS");
  ASSUMPTION(as_int(command.bufs[1]) == sent.token,
             "a stored PUBLISH command's second buffer is the token MQTTAsync_sendMessage returns");

  // 2. Sent: the command read back and dropped, then "s-<id>" put, before the PUBLISH leaves.
  const long get_cmd = find(calls, is("get", command.key), static_cast<std::size_t>(cmd));
  const long drop_cmd = find(calls, is("remove", command.key), static_cast<std::size_t>(cmd));
  const long put_sent = find(calls, is("put", "s-" + n));
  ASSUMPTION(put_sent >= 0,
             "the sent PUBLISH is stored as \"s-<id>\" where <id> is the command's token (its packet id)");
  REQUIRE(put_sent >= 0);
  ASSUMPTION(drop_cmd >= 0 && drop_cmd < put_sent,
             "Paho removes the command (\"c-<n>\") before it stores the sent PUBLISH (\"s-<id>\")");
  ASSUMPTION(
      get_cmd >= 0 && get_cmd < drop_cmd &&
          calls[static_cast<std::size_t>(get_cmd)].thread == calls[static_cast<std::size_t>(drop_cmd)].thread,
      "Paho reads the command back (pget \"c-<n>\") right before it removes it, on the same thread "
      "(PahoPersistence frees the lent buffer on that removal)");
  const Call& sent_put = calls[static_cast<std::size_t>(put_sent)];
  REQUIRE(!sent_put.bufs.empty());
  REQUIRE(!sent_put.bufs[0].empty());
  const auto first_byte = static_cast<unsigned char>(sent_put.bufs[0][0]);
  ASSUMPTION((first_byte >> 4) == 3 && ((first_byte >> 1) & 3) == 2,
             "the first byte of \"s-<id>\"'s first buffer is the PUBLISH fixed header, QoS bits 2");
  std::string stored;
  for (const auto& b : sent_put.bufs) stored += b;
  const auto packet = parse_publish(stored);
  CHECK(packet.packet_id == sent.token);
  CHECK(packet.topic == "contract/q2");
  CHECK(packet.payload == "exactly once");
  ASSUMPTION(sent_put.note == "broker had no PUBLISH 300 ms into this put",
             "\"s-<id>\" is stored before the PUBLISH reaches the socket (a crash after the PUBLISH "
             "left would otherwise lose the record the resend needs)");
  CHECK_MESSAGE(
      broker.log().find(received_publish("contract-q2") + "d0, q2, r0, m" + n + ",") != std::string::npos,
      "the broker never logged the PUBLISH (is log_type debug still honoured?)");
  const long success =
      find(calls, [&](const Call& x) { return x.fn == "mark" && x.key == "onSuccess, token " + n; });
  ASSUMPTION(success > put_sent, "\"s-<id>\" is stored before the publish's onSuccess");

  // 3. PUBREC: "sc-<id>" put. PUBCOMP: "s5-<id>"/"sc5-<id>" removed right before "s-<id>".
  const long put_pubrel = find(calls, is("put", "sc-" + n));
  ASSUMPTION(put_pubrel > put_sent, "at PUBREC Paho stores the PUBREL it sends as \"sc-<id>\"");
  const long done = find(calls, is("remove", "s-" + n), static_cast<std::size_t>(put_sent));
  ASSUMPTION(done > put_pubrel, "at PUBCOMP Paho removes \"s-<id>\"");
  REQUIRE(done >= 0);
  const std::string previous = previous_removal_on_thread(calls, static_cast<std::size_t>(done));
  INFO("removal before \"s-", n, "\" on its thread: \"", previous, "\"");
  ASSUMPTION(previous == "s5-" + n || previous == "sc5-" + n,
             "Paho's completion path removes \"s5-<id>\" or \"sc5-<id>\" right before \"s-<id>\", on the "
             "same thread (PahoPersistence::completes() tells a delivery from a session cleanup by it)");
  ASSUMPTION(find(calls, is("remove", "sc-" + n), static_cast<std::size_t>(done)) > done,
             "at PUBCOMP Paho also removes \"sc-<id>\"");
  ASSUMPTION(done < success, "\"s-<id>\" is removed before the publish's onSuccess");
  CHECK_MESSAGE(p.records().empty(), "records left after a completed exchange");
}

TEST_CASE("paho contract: a QoS 1 publish is stored as s-<id> with QoS bits 1 and removed at PUBACK") {
  MosquittoBroker broker;
  RecordingPersistence p;
  INFO(p.dump());
  RawClient c(broker.uri(), "contract-q1", p);
  REQUIRE(c.connect(false));
  const auto sent = c.publish("contract/q1", "at least once", 1);
  REQUIRE(sent.rc == MQTTASYNC_SUCCESS);
  REQUIRE(c.wait_done(sent.token));
  const std::string n = std::to_string(sent.token);
  p.wait_for(is("remove", "sc-" + n));
  const auto calls = p.calls();

  const long cmd = find(calls, is_prefixed("put", "c-"), sent.begins);
  REQUIRE(cmd >= 0);
  const Call& command = calls[static_cast<std::size_t>(cmd)];
  ASSUMPTION(static_cast<std::size_t>(cmd) < sent.returned && command.thread == std::this_thread::get_id(),
             "the PUBLISH command is stored during MQTTAsync_sendMessage, on the calling thread");
  ASSUMPTION(command.bufs.size() == 7 && as_int(command.bufs[0]) == kPahoPublishCommand &&
                 as_int(command.bufs[5]) == 1 && as_int(command.bufs[1]) == sent.token,
             "a stored QoS 1 PUBLISH command: 7 buffers, type 3, token, QoS 1 in the sixth");
  const long put_sent = find(calls, is("put", "s-" + n));
  ASSUMPTION(put_sent > cmd, "a sent QoS 1 PUBLISH is stored as \"s-<id>\"");
  REQUIRE(put_sent >= 0);
  const Call& sent_put = calls[static_cast<std::size_t>(put_sent)];
  REQUIRE(!sent_put.bufs.empty());
  REQUIRE(!sent_put.bufs[0].empty());
  const auto first_byte = static_cast<unsigned char>(sent_put.bufs[0][0]);
  ASSUMPTION((first_byte >> 4) == 3 && ((first_byte >> 1) & 3) == 1,
             "the first byte of a QoS 1 \"s-<id>\" is the PUBLISH fixed header with QoS bits 1 (that is "
             "how PahoPersistence::put() leaves QoS 1 out of the durable records)");
  const long acked = find(calls, is("remove", "s-" + n), static_cast<std::size_t>(put_sent));
  const long success =
      find(calls, [&](const Call& x) { return x.fn == "mark" && x.key == "onSuccess, token " + n; });
  ASSUMPTION(acked > put_sent && acked < success, "at PUBACK Paho removes \"s-<id>\", before onSuccess");
  CHECK(find(calls, is("put", "sc-" + n)) < 0);  // no PUBREL at QoS 1
  CHECK_MESSAGE(p.records().empty(), "records left after a completed exchange");
}

TEST_CASE("paho contract: records present at create are read back on the creating thread, and resumed") {
  MosquittoBroker broker(verbose_broker());
  PahoTestClient sub(mqttsn::bridge::test::client_for(broker.uri(), "contract-sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("contract/restore", 2));
  const auto left = leftover_of_a_crash(broker, "contract-restore", "contract/restore", "once");
  const std::string n = std::to_string(left.packet_id);

  // The process starts again over the records it left.
  RecordingPersistence p(left.records);
  INFO(p.dump());
  INFO(broker.log());
  RawClient c(broker.uri(), "contract-restore", p);
  auto calls = p.calls();
  const long keys = find(
      calls, [](const Call& x) { return x.fn == "keys"; }, c.create_begins());
  const long get = find(calls, is("get", "s-" + n), c.create_begins());
  ASSUMPTION(
      keys >= 0 && static_cast<std::size_t>(keys) < c.create_returned() &&
          calls[static_cast<std::size_t>(keys)].thread == std::this_thread::get_id(),
      "MQTTAsync_createWithOptions lists the records (pkeys) on the creating thread before it returns");
  ASSUMPTION(get > keys && static_cast<std::size_t>(get) < c.create_returned() &&
                 calls[static_cast<std::size_t>(get)].thread == std::this_thread::get_id(),
             "MQTTAsync_createWithOptions reads each \"s-<id>\" back (pget) on the creating thread before it "
             "returns (PahoPersistence::restored() ends the restoring phase when it has returned)");

  // The broker kept the session: Paho resends the PUBLISH under the same packet id and completes it.
  REQUIRE(c.connect(false));
  CHECK(c.session_present());
  const long done = p.wait_for(is("remove", "s-" + n));
  ASSUMPTION(done >= 0, "a restored QoS 2 exchange is resumed and completed after the reconnect");
  REQUIRE(done >= 0);
  calls = p.calls();
  const std::string previous = previous_removal_on_thread(calls, static_cast<std::size_t>(done));
  ASSUMPTION(previous == "s5-" + n || previous == "sc5-" + n,
             "a resumed exchange completes through the same path: \"s5-<id>\"/\"sc5-<id>\" removed right "
             "before \"s-<id>\", on the same thread");
  ASSUMPTION(broker.log().find(received_publish("contract-restore") + "d1, q2, r0, m" + n + ",") !=
                 std::string::npos,
             "the restored PUBLISH is resent with DUP under its old packet id (what lets the broker "
             "recognise it: exactly once)");
  REQUIRE(sub.wait_for(1, 5s));
  std::this_thread::sleep_for(300ms);
  CHECK(sub.count() == 1);
}

TEST_CASE("paho contract: a session the broker lost is cleaned without the completion signature") {
  MosquittoBroker first;
  const auto left = leftover_of_a_crash(first, "contract-clean", "contract/clean", "lost");
  const std::string n = std::to_string(left.packet_id);

  // Restarted, and the broker knows nothing of the client (a fresh broker): CONNACK session present 0.
  MosquittoBroker fresh;
  RecordingPersistence p(left.records);
  INFO(p.dump());
  RawClient c(fresh.uri(), "contract-clean", p);
  REQUIRE(c.connect(false));
  CHECK_FALSE(c.session_present());
  const long dropped = p.wait_for(is("remove", "s-" + n));
  ASSUMPTION(dropped >= 0,
             "when the broker has no session (CONNACK session present = 0) Paho removes "
             "the \"s-<id>\" of the exchanges it drops");
  REQUIRE(dropped >= 0);
  const auto calls = p.calls();
  const auto i = static_cast<std::size_t>(dropped);
  const std::string previous = previous_removal_on_thread(calls, i);
  INFO("removal before \"s-", n, "\" on its thread: \"", previous, "\"");
  ASSUMPTION(previous != "s5-" + n && previous != "sc5-" + n,
             "Paho's clean-session cleanup does not remove \"s5-<id>\"/\"sc5-<id>\" right before \"s-<id>\" "
             "(else PahoPersistence would take the dropped exchange for a delivery)");
  long listed = -1;
  for (std::size_t j = i; j-- > c.connect_begins();)
    if (calls[j].thread == calls[i].thread && calls[j].fn == "keys") {
      listed = static_cast<long>(j);
      break;
    }
  CHECK_MESSAGE(listed >= 0, "the cleanup did not walk pkeys() on its thread first");
  CHECK(p.records().count("s-" + n) == 0);
}

TEST_CASE("paho contract: Paho <= 1.3.12 as built here never frees the buffer pget() returns for a command") {
  {  // the watch itself sees a free()
    char* probe = static_cast<char*>(std::malloc(64));
    REQUIRE(probe != nullptr);
    const int slot = FreeWatch::watch(probe);
    REQUIRE(slot >= 0);
    CHECK_FALSE(FreeWatch::freed(slot));
    std::free(probe);
    CHECK(FreeWatch::freed(slot));
    FreeWatch::release(slot);
  }
  MosquittoBroker broker;
  RecordingPersistence p;
  INFO(p.dump());
  {
    RawClient c(broker.uri(), "contract-buffers", p);
    REQUIRE(c.connect(false));
    for (int qos : {0, 1, 2}) {
      const auto sent = c.publish("contract/buffers", "b", qos);
      REQUIRE(sent.rc == MQTTASYNC_SUCCESS);
      if (qos > 0) REQUIRE(c.wait_done(sent.token));
    }
    p.wait_for([](const Call& x) { return x.fn == "remove" && starts(x.key, "sc-"); });
  }
  const bool leaks = paho_at_most_1_3_12();  // what PahoPersistence decides (paho_leaks_command_buffers_)
  // Paho 1.3.11 does call free() on each command's buffer (MQTTAsyncUtils.c line 1267, as its trace
  // shows with MQTT_C_CLIENT_TRACE=ON MQTT_C_CLIENT_TRACE_LEVEL=ERROR): the buffer survives only because
  // Debian builds Paho with its heap tracking, whose free() ignores memory it did not allocate. So
  // what PahoPersistence really depends on is that build option, not the version.
  const bool heap_tracking = !paho_frees_foreign_memory();
  INFO("this Paho's free() ", (heap_tracking ? "ignores" : "releases"),
       " memory Paho did not allocate (heap tracking ", (heap_tracking ? "on" : "off"), ")");
  if (leaks)
    ASSUMPTION(
        heap_tracking,
        "Paho's free() ignores memory Paho did not allocate (its heap tracking is compiled in): "
        "Paho 1.3.11 calls free() on the buffer pget() returned for a command, so without heap "
        "tracking it frees it, and PahoPersistence, which frees it too on Paho <= 1.3.12, frees it twice");
  int commands = 0;
  for (const auto& l : p.settle()) {
    if (!starts(l.key, "c-")) continue;
    ++commands;
    REQUIRE_MESSAGE(l.known, "could not watch the buffer of ", l.key);
    INFO("command ", l.key, (l.freed_by_paho ? ": Paho freed its buffer" : ": Paho kept its buffer"));
    if (leaks)
      ASSUMPTION(!l.freed_by_paho,
                 "Paho <= 1.3.12 never frees the buffer pget() returned for a command it sends "
                 "(PahoPersistence frees it when the command is removed: with a Paho that frees it too, "
                 "that is a double free)");
    else
      ASSUMPTION(l.freed_by_paho, "Paho > 1.3.12 frees the buffer pget() returned for a command it sends");
  }
  CHECK(commands == 3);
}

// ---- The adapter itself under the real library ---------------------------------------------------

namespace {

class RecordingDurable : public mqttsn::bridge::DurableRecords {
 public:
  using MessageTag = mqttsn::bridge::MessageTag;
  struct Put {
    std::string key;
    std::string value;
    MessageTag tag;
  };
  struct Removal {
    std::string key;
    MessageTag delivered;
  };

  bool put(std::string_view key, std::span<const std::uint8_t> value, MessageTag tag) override {
    std::lock_guard lock(mutex_);
    std::string v(value.begin(), value.end());
    puts_.push_back({std::string(key), v, tag});
    auto& r = records_[std::string(key)];
    r.value = std::move(v);
    if (tag != 0) r.tag = tag;
    return true;
  }
  bool remove(std::string_view key, MessageTag delivered) override {
    std::lock_guard lock(mutex_);
    removals_.push_back({std::string(key), delivered});
    records_.erase(std::string(key));
    return true;
  }
  std::optional<std::vector<std::uint8_t>> get(std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto it = records_.find(std::string(key));
    if (it == records_.end()) return std::nullopt;
    return std::vector<std::uint8_t>(it->second.value.begin(), it->second.value.end());
  }
  std::vector<Record> load() override {
    std::lock_guard lock(mutex_);
    std::vector<Record> out;
    for (const auto& [k, r] : records_)
      out.push_back({k, std::vector<std::uint8_t>(r.value.begin(), r.value.end()), r.tag});
    return out;
  }
  bool clear() override {
    std::lock_guard lock(mutex_);
    records_.clear();
    return true;
  }
  std::int64_t add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload, int qos, bool,
                            std::string_view record_key, bool mark_taken) override {
    std::lock_guard lock(mutex_);
    inbox_.push_back({std::string(topic), std::string(payload.begin(), payload.end()), qos});
    if (!record_key.empty() && mark_taken) {
      records_[std::string(record_key)].tag = -1;
    } else if (!record_key.empty()) {
      removals_.push_back({std::string(record_key), 0});
      records_.erase(std::string(record_key));
    }
    return static_cast<std::int64_t>(inbox_.size());
  }
  void abandoned(MessageTag tag) override {
    std::lock_guard lock(mutex_);
    abandoned_.push_back(tag);
  }

  std::vector<Put> puts() const {
    std::lock_guard lock(mutex_);
    return puts_;
  }
  std::vector<Removal> removals() const {
    std::lock_guard lock(mutex_);
    return removals_;
  }
  struct InboxEntry {
    std::string topic;
    std::string payload;
    int qos;
  };
  std::vector<InboxEntry> inbox() const {
    std::lock_guard lock(mutex_);
    return inbox_;
  }
  std::vector<MessageTag> abandoned_tags() const {
    std::lock_guard lock(mutex_);
    return abandoned_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::ostringstream o;
    o << "durable calls:\n";
    for (const auto& p : puts_) o << "  put " << p.key << " tag " << p.tag << "\n";
    for (const auto& r : removals_) o << "  remove " << r.key << " delivered " << r.delivered << "\n";
    for (auto t : abandoned_) o << "  abandoned " << t << "\n";
    return o.str();
  }

 private:
  struct Stored {
    std::string value;
    MessageTag tag = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Stored> records_;
  std::vector<Put> puts_;
  std::vector<Removal> removals_;
  std::vector<MessageTag> abandoned_;
  std::vector<InboxEntry> inbox_;
};

}  // namespace

TEST_CASE("paho contract: PahoPersistence under the real library tags every QoS 2 record and delivery") {
  using namespace mqttsn;
  using namespace mqttsn::bridge;
  using namespace mqttsn::bridge::test;
  MosquittoBroker broker;
  PahoTestClient sub(client_for(broker.uri(), "contract-sub"));
  REQUIRE(sub.connect());
  REQUIRE(sub.subscribe("contract/tagged/#", 2));

  RecordingDurable durable;
  INFO(durable.dump());
  auto o = options_for(broker.uri());
  o.clean_session = false;
  o.durable_records = &durable;
  BridgeHarness h(o);
  REQUIRE(h.start_and_connect());

  // Five QoS 2 messages in flight together, and one QoS 1 message with a tag (never durable).
  std::map<PublishId, MessageTag> tag_of;
  auto publish = [&](MessageTag tag, QoS qos) {
    PublishRequest r;
    r.id = ++h.last_id;
    const std::string topic = "contract/tagged/" + std::to_string(tag);
    const std::string payload = "m" + std::to_string(tag);
    r.topic = topic;
    r.payload = bytes_of(payload);
    r.qos = qos;
    r.tag = tag;
    r.kept_above = true;
    h.bridge->publish(r);
    tag_of[r.id] = tag;
  };
  const std::set<MessageTag> qos2_tags{101, 102, 103, 104, 105};
  for (MessageTag t : qos2_tags) publish(t, 2);
  publish(201, 1);
  REQUIRE(h.run([&] { return h.events.results.size() == tag_of.size(); }, 10s));
  for (const auto& [id, tag] : tag_of)
    CHECK_MESSAGE(h.events.results[id] == PublishResult::delivered, "tag ", tag);
  REQUIRE(h.run([&] { return durable.size() == 0; }, 5s));
  REQUIRE(sub.wait_for(tag_of.size(), 5s));

  // Every durable put carries the tag of the message it holds (the payload names it).
  std::map<int, MessageTag> tag_by_packet_id;
  std::set<MessageTag> stored_tags;
  for (const auto& put : durable.puts()) {
    INFO("durable put ", put.key, " tag ", put.tag);
    if (int id = id_in(put.key, "s-"); id >= 0) {
      const auto packet = parse_publish(put.value);
      CHECK(packet.qos == 2);
      CHECK(packet.packet_id == id);
      CHECK_MESSAGE(packet.payload == "m" + std::to_string(put.tag),
                    "the record of a QoS 2 PUBLISH carries another message's tag (or none): the tag rides "
                    "on the command Paho stores during MQTTAsync_sendMessage (see PahoPersistence::Handing)");
      tag_by_packet_id[id] = put.tag;
      stored_tags.insert(put.tag);
    } else if (int sc = id_in(put.key, "sc-"); sc >= 0) {
      REQUIRE_MESSAGE(tag_by_packet_id.count(sc) == 1, "a PUBREL stored before its PUBLISH");
      CHECK(put.tag == tag_by_packet_id[sc]);
    } else {
      FAIL_CHECK("a durable record that is neither \"s-\" nor \"sc-\"");
    }
  }
  CHECK(stored_tags == qos2_tags);

  // Every completion reports its message's tag as delivered, in the removal of "s-<id>".
  std::set<MessageTag> delivered;
  for (const auto& r : durable.removals()) {
    INFO("durable remove ", r.key, " delivered ", r.delivered);
    if (int id = id_in(r.key, "s-"); id >= 0) {
      CHECK_MESSAGE(r.delivered == tag_by_packet_id[id],
                    "a completion not reported as the delivery of its message's tag: Paho's completion "
                    "path no longer removes \"s5-<id>\"/\"sc5-<id>\" first (PahoPersistence::completes())");
      delivered.insert(r.delivered);
    } else {
      CHECK(r.delivered == 0);
    }
  }
  CHECK(delivered == qos2_tags);
  CHECK(durable.abandoned_tags().empty());
  if (verbose()) std::fprintf(stderr, "%s", durable.dump().c_str());
}
