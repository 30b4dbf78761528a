#include "bridge/paho_persistence.hpp"

#include <MQTTAsync.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <tuple>
#include <utility>

#include "bridge/paho_library.hpp"
#include "gateway/core/log.hpp"

namespace mqttsn::bridge {

namespace {

thread_local MessageTag t_handing = 0;
thread_local std::string t_last_removed;  // the key of this thread's previous premove

constexpr int kPahoPublishCommand = 3;  // MQTT packet type PUBLISH, as Paho stores its commands

// "s-17" -> 17 for prefix "s-"; -1 when `key` is not of that form.
int packet_id(std::string_view key, std::string_view prefix) {
  if (key.substr(0, prefix.size()) != prefix || key.size() == prefix.size()) return -1;
  int id = 0;
  for (char c : key.substr(prefix.size())) {
    if (c < '0' || c > '9' || id > 65535) return -1;
    id = id * 10 + (c - '0');
  }
  return id;
}

PahoPersistence& self(void* handle) {
  return *static_cast<PahoPersistence*>(handle);
}

// Buffers Paho 1.3.11 does not free (see restoring_ in the header): their own names, so that the
// ASan run's leak suppression (scripts/lsan-suppressions.txt) can name them and nothing else.
[[gnu::noinline]] char* restore_copy(const std::vector<std::uint8_t>& v) {
  char* p = static_cast<char*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p != nullptr && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

[[gnu::noinline]] char** key_list(std::size_t n) {
  return static_cast<char**>(std::malloc(n * sizeof(char*)));
}

char* copy_out(const std::vector<std::uint8_t>& v) {
  // Paho frees what it gets with free().
  char* p = static_cast<char*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p != nullptr && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

}  // namespace

PahoPersistence::Handing::Handing(MessageTag tag) : previous_(t_handing) {
  t_handing = tag;
}

PahoPersistence::Handing::~Handing() {
  t_handing = previous_;
}

namespace {
// "1.3.11" from MQTTAsync_getVersionInfo(); false when it cannot be read.
bool paho_at_most(int major, int minor, int patch) {
  for (MQTTAsync_nameValue* nv = paho::api().getVersionInfo(); nv != nullptr && nv->name != nullptr; ++nv) {
    if (std::strcmp(nv->name, "Version") != 0 || nv->value == nullptr) continue;
    int a = 0, b = 0, c = 0;
    if (std::sscanf(nv->value, "%d.%d.%d", &a, &b, &c) != 3) return false;
    return std::tie(a, b, c) <= std::tie(major, minor, patch);
  }
  return false;
}
}  // namespace

PahoPersistence::~PahoPersistence() {
  for (auto& [key, buffer] : lent_) std::free(buffer);
}

PahoPersistence::PahoPersistence(DurableRecords& durable)
    : durable_(durable), paho_leaks_command_buffers_(paho_at_most(1, 3, 12)) {
  callbacks_.context = this;  // Paho refuses a user persistence without a context
  callbacks_.popen = &PahoPersistence::open;
  callbacks_.pclose = &PahoPersistence::close;
  callbacks_.pput = &PahoPersistence::put;
  callbacks_.pget = &PahoPersistence::get;
  callbacks_.premove = &PahoPersistence::remove;
  callbacks_.pkeys = &PahoPersistence::keys;
  callbacks_.pclear = &PahoPersistence::clear;
  callbacks_.pcontainskey = &PahoPersistence::contains;
}

std::uint64_t PahoPersistence::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

int PahoPersistence::open(void** handle, const char*, const char*, void* context) {
  *handle = context;
  return self(context).do_open();
}

int PahoPersistence::close(void*) {
  return 0;
}

int PahoPersistence::put(void* handle, char* key, int bufcount, char* buffers[], int buflens[]) {
  const int first_byte = bufcount > 0 && buflens[0] > 0 ? static_cast<unsigned char>(buffers[0][0]) : -1;
  // A sent QoS 1 PUBLISH: Paho resends it from its own memory and reads this record back only when
  // restoring at start, and after a crash the store publishes the message again (at least once).
  // Keeping nothing spares every QoS 1 message a copy here and a lookup at its PUBACK.
  if (std::string_view(key).substr(0, 2) == "s-" && first_byte >= 0 && ((first_byte >> 1) & 3) != 2) return 0;
  std::vector<std::uint8_t> value;
  std::size_t total = 0;
  for (int i = 0; i < bufcount; ++i) total += static_cast<std::size_t>(buflens[i]);
  value.reserve(total);
  for (int i = 0; i < bufcount; ++i) value.insert(value.end(), buffers[i], buffers[i] + buflens[i]);
  // A stored PUBLISH command is (type, token, topic, payloadlen, payload, qos, retained): the token
  // is its packet id. Only QoS 2 needs its tag followed.
  int token = -1;
  if (bufcount == 7 && buflens[0] == sizeof(int) && buflens[1] == sizeof(int) && buflens[5] == sizeof(int)) {
    int type = 0, qos = 0;
    std::memcpy(&type, buffers[0], sizeof type);
    std::memcpy(&qos, buffers[5], sizeof qos);
    if (type == kPahoPublishCommand && qos == 2) std::memcpy(&token, buffers[1], sizeof token);
  }
  return self(handle).do_put(key, std::move(value), first_byte, token);
}

int PahoPersistence::get(void* handle, char* key, char** buffer, int* buflen) {
  return self(handle).do_get(key, buffer, buflen);
}

int PahoPersistence::remove(void* handle, char* key) {
  return self(handle).do_remove(key);
}

int PahoPersistence::keys(void* handle, char*** keys, int* nkeys) {
  return self(handle).do_keys(keys, nkeys);
}

int PahoPersistence::clear(void* handle) {
  return self(handle).do_clear();
}

int PahoPersistence::contains(void* handle, char* key) {
  return self(handle).has(key) ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
}

namespace {
// A stored received PUBLISH ("r-<id>", as Paho writes it: fixed header, remaining length, variable
// header and payload) -> topic, payload, QoS, retain. False when it is not one.
bool parse_received(const std::vector<std::uint8_t>& v, std::string& topic,
                    std::vector<std::uint8_t>& payload, int& qos, bool& retain) {
  if (v.size() < 2 || (v[0] >> 4) != 3) return false;
  qos = (v[0] >> 1) & 3;
  retain = (v[0] & 1) != 0;
  std::size_t at = 1, remaining = 0;
  for (int shift = 0; at < v.size() && shift <= 21; shift += 7) {
    remaining |= static_cast<std::size_t>(v[at] & 0x7F) << shift;
    if ((v[at++] & 0x80) == 0) break;
  }
  if (at + remaining != v.size() || remaining < 2) return false;
  const std::size_t topic_len = (std::size_t{v[at]} << 8) | v[at + 1];
  at += 2;
  if (at + topic_len + (qos > 0 ? 2 : 0) > v.size()) return false;
  topic.assign(reinterpret_cast<const char*>(v.data() + at), topic_len);
  at += topic_len + (qos > 0 ? 2 : 0);
  payload.assign(v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return qos == 2;
}
}  // namespace

int PahoPersistence::do_open() {
  std::scoped_lock lock(mutex_, memory_mutex_);
  restoring_ = true;
  memory_.clear();
  durable_keys_.clear();
  tag_by_packet_id_.clear();
  taken_into_inbox_.clear();
  acked_qos2_.clear();
  std::size_t received = 0;
  for (auto& r : durable_.load()) {
    if (const int id = packet_id(r.key, "r-"); id >= 0) {
      // A QoS 2 message received before the restart. Paho 1.3.12 sends PUBCOMP before it calls the
      // message callback, so after a crash in between no PUBREL comes again, and Paho would hold
      // the message for ever undelivered: it goes to the inbox now. The record stays, marked, in the
      // same transaction: while the exchange goes on (a PUBLISH resent with DUP when our PUBREC was
      // lost, then PUBREL), Paho knows the packet id and delivers nothing twice, and the callback
      // at PUBREL knows the message is in the inbox already.
      if (r.tag != kTakenIntoInbox) {
        std::string topic;
        std::vector<std::uint8_t> payload;
        int qos = 0;
        bool retain = false;
        if (!parse_received(r.value, topic, payload, qos, retain) ||
            durable_.add_to_inbox(topic, payload, qos, retain, r.key, true) == 0) {
          MQTTSN_LOG(error,
                     "upstream: record %s of a received QoS 2 message is unreadable; left to the MQTT client",
                     r.key.c_str());
          durable_keys_.insert(std::move(r.key));
          continue;
        }
        ++received;
      }
      taken_into_inbox_.insert(id);
    }
    int id = packet_id(r.key, "s-");
    if (id < 0) id = packet_id(r.key, "sc-");
    if (id >= 0 && r.tag != 0) tag_by_packet_id_[id] = r.tag;
    durable_keys_.insert(std::move(r.key));
  }
  durable_count_ = durable_keys_.size();
  if (received > 0)
    MQTTSN_LOG(info, "upstream: %zu QoS 2 message(s) received before the restart moved to the inbox",
               received);
  if (!durable_keys_.empty())
    MQTTSN_LOG(info,
               "upstream: %zu record(s) of QoS 2 exchanges in progress found; the MQTT client resumes them",
               durable_keys_.size());
  return 0;
}

int PahoPersistence::do_put(const std::string& key, std::vector<std::uint8_t> value, int first_byte,
                            int token) {
  int id = packet_id(key, "c-") >= 0 ? token : -1;
  const bool exchange = key.rfind("s-", 0) == 0 || key.rfind("sc-", 0) == 0 || key.rfind("r-", 0) == 0;
  if (id < 0 && !exchange) {  // a command (QoS 0/1, subscribe): memory
    std::lock_guard lock(memory_mutex_);
    memory_.insert_or_assign(key, std::move(value));
    return 0;
  }
  std::lock_guard lock(mutex_);
  if (id >= 0) {
    if (t_handing != 0)
      tag_by_packet_id_[id] = t_handing;
    else
      tag_by_packet_id_.erase(id);  // a message that is not the app's (presence): no stale tag
  }
  bool durable = false;
  if (int s = packet_id(key, "s-"); s >= 0) {
    durable = first_byte >= 0 && ((first_byte >> 1) & 3) == 2;  // the PUBLISH's QoS bits
    id = s;
  } else if (int sc = packet_id(key, "sc-"); sc >= 0) {
    durable = true;  // a PUBREL: only QoS 2 has one
    id = sc;
  } else if (packet_id(key, "r-") >= 0) {
    durable = true;  // a QoS 2 PUBLISH received: the broker counts it as ours once PUBREC goes
    id = -1;         // the broker's packet id: no tag of ours
  }
  if (!durable) {
    std::lock_guard memory_lock(memory_mutex_);
    memory_.insert_or_assign(key, std::move(value));
    return 0;
  }
  // Paho resending (DUP) a PUBLISH the broker already took at QoS 1: nothing to keep.
  if (key[0] == 's' && key[1] == '-' && acked_qos2_.contains(id)) return 0;
  auto tag = tag_by_packet_id_.find(id);
  if (!durable_.put(key, value, tag == tag_by_packet_id_.end() ? 0 : tag->second)) {
    ++errors_;
    return MQTTCLIENT_PERSISTENCE_ERROR;
  }
  durable_keys_.insert(key);
  durable_count_ = durable_keys_.size();
  return 0;
}

int PahoPersistence::do_get(const std::string& key, char** buffer, int* buflen) {
  {
    std::lock_guard memory_lock(memory_mutex_);
    if (auto it = memory_.find(key); it != memory_.end()) {
      *buffer = copy_out(it->second);
      *buflen = static_cast<int>(it->second.size());
      if (*buffer == nullptr) return MQTTCLIENT_PERSISTENCE_ERROR;
      if (paho_leaks_command_buffers_ && key.rfind("c-", 0) == 0) {
        auto [lent, fresh] = lent_.try_emplace(key, *buffer);
        if (!fresh) std::free(std::exchange(lent->second, *buffer));
      }
      return 0;
    }
  }
  std::lock_guard lock(mutex_);
  if (durable_keys_.count(key) == 0) return MQTTCLIENT_PERSISTENCE_ERROR;
  auto v = durable_.get(key);
  if (!v) return MQTTCLIENT_PERSISTENCE_ERROR;
  *buffer = restoring_ ? restore_copy(*v) : copy_out(*v);
  *buflen = static_cast<int>(v->size());
  return *buffer != nullptr ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
}

bool PahoPersistence::completes(std::string_view sent_key) {
  const std::string_view n = sent_key.substr(2);  // "s-17" -> "17"
  const std::string_view last = t_last_removed;
  auto is = [&](std::string_view prefix) {
    return last.size() == prefix.size() + n.size() && last.substr(0, prefix.size()) == prefix &&
           last.substr(prefix.size()) == n;
  };
  return is("s5-") || is("sc5-");
}

int PahoPersistence::do_remove(const std::string& key) {
  const std::string_view k(key);
  if (k.substr(0, 3) == "s5-" || k.substr(0, 4) == "sc5-") {  // MQTT 5 keys: never stored (we speak 3.1.1)
    t_last_removed = key;
    return 0;
  }
  // Paho removes "s-<id>" when the exchange ends (PUBACK, or PUBCOMP for QoS 2), or when it
  // cleans its session (see the header).
  const int sent = packet_id(key, "s-");
  const bool completion = sent >= 0 && completes(k);
  t_last_removed = key;
  if (sent >= 0 || k.substr(0, 3) == "sc-" || k.substr(0, 2) == "r-") {
    // Only ever durable. With no QoS 2 under way (QoS 1 traffic) there is nothing to look up.
    if (durable_count_.load() == 0) return 0;
  } else {
    std::lock_guard memory_lock(memory_mutex_);
    memory_.erase(key);
    if (auto lent = lent_.find(key); lent != lent_.end()) {
      std::free(lent->second);
      lent_.erase(lent);
    }
    return 0;
  }
  std::lock_guard lock(mutex_);
  if (const int received = packet_id(key, "r-"); received >= 0) taken_into_inbox_.erase(received);
  if (durable_keys_.count(key) == 0) return 0;  // never stored, or gone already: nothing to do
  MessageTag tag = 0;
  if (sent >= 0) {
    if (auto it = tag_by_packet_id_.find(sent); it != tag_by_packet_id_.end()) {
      tag = it->second;
      tag_by_packet_id_.erase(it);
    }
  }
  if (!durable_.remove(key, completion ? tag : 0)) {
    ++errors_;
    return MQTTCLIENT_PERSISTENCE_ERROR;
  }
  durable_keys_.erase(key);
  durable_count_ = durable_keys_.size();
  if (!completion && tag != 0) {
    MQTTSN_LOG(info,
               "upstream: the MQTT client dropped a QoS 2 exchange (packet id %d) the broker no longer "
               "knows; the message is published again",
               sent);
    durable_.abandoned(tag);
  }
  return 0;
}

bool PahoPersistence::settle_qos2(int packet_id, bool delivered) {
  const std::string key = "s-" + std::to_string(packet_id);
  std::lock_guard lock(mutex_);
  acked_qos2_.insert(packet_id);
  if (durable_keys_.count(key) == 0) return false;
  MessageTag tag = 0;
  if (auto it = tag_by_packet_id_.find(packet_id); it != tag_by_packet_id_.end()) {
    tag = it->second;
    tag_by_packet_id_.erase(it);
  }
  if (!durable_.remove(key, delivered ? tag : 0)) {
    ++errors_;
    return false;
  }
  durable_keys_.erase(key);
  durable_count_ = durable_keys_.size();
  return true;
}

std::int64_t PahoPersistence::add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload,
                                           int qos, bool retain, int packet_id) {
  std::lock_guard lock(mutex_);
  // A QoS 2 message reaches the callback at PUBREL, its "r-<id>" still held: the inbox row replaces
  // it in one transaction. Paho's own removal of "r-<id>" right after then finds nothing to do.
  std::string settled;
  if (qos == 2) {
    if (taken_into_inbox_.count(packet_id) > 0) return kAlreadyInInbox;  // moved there at start
    std::string key = "r-" + std::to_string(packet_id);
    if (durable_keys_.count(key) > 0) settled = std::move(key);
  }
  const std::int64_t id = durable_.add_to_inbox(topic, payload, qos, retain, settled, false);
  if (id == 0) {
    ++errors_;
    return 0;
  }
  if (!settled.empty()) {
    durable_keys_.erase(settled);
    durable_count_ = durable_keys_.size();
  }
  return id;
}

int PahoPersistence::do_keys(char*** keys, int* nkeys) {
  std::scoped_lock lock(mutex_, memory_mutex_);
  const std::size_t n = memory_.size() + durable_keys_.size();
  *nkeys = static_cast<int>(n);
  *keys = nullptr;
  if (n == 0) return 0;
  *keys = key_list(n);
  if (*keys == nullptr) return MQTTCLIENT_PERSISTENCE_ERROR;
  std::size_t i = 0;
  for (const auto& [k, v] : memory_) (*keys)[i++] = strdup(k.c_str());
  for (const auto& k : durable_keys_) (*keys)[i++] = strdup(k.c_str());
  return 0;
}

int PahoPersistence::do_clear() {
  std::scoped_lock lock(mutex_, memory_mutex_);
  memory_.clear();
  durable_keys_.clear();
  durable_count_ = 0;
  tag_by_packet_id_.clear();
  taken_into_inbox_.clear();
  acked_qos2_.clear();
  if (!durable_.clear()) {
    ++errors_;
    return MQTTCLIENT_PERSISTENCE_ERROR;
  }
  return 0;
}

bool PahoPersistence::has(const std::string& key) {
  std::scoped_lock lock(mutex_, memory_mutex_);
  return memory_.count(key) > 0 || durable_keys_.count(key) > 0;
}

}  // namespace mqttsn::bridge
