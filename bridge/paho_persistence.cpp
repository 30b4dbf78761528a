#include "bridge/paho_persistence.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

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

PahoPersistence::PahoPersistence(DurableRecords& durable) : durable_(durable) {
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
  std::vector<std::uint8_t> value;
  std::size_t total = 0;
  for (int i = 0; i < bufcount; ++i) total += static_cast<std::size_t>(buflens[i]);
  value.reserve(total);
  for (int i = 0; i < bufcount; ++i) value.insert(value.end(), buffers[i], buffers[i] + buflens[i]);
  const int first_byte = bufcount > 0 && buflens[0] > 0 ? static_cast<unsigned char>(buffers[0][0]) : -1;
  // A stored command is (type, token, ...) as two ints: the token of a PUBLISH is its packet id.
  int token = -1;
  if (bufcount > 1 && buflens[0] == sizeof(int) && buflens[1] == sizeof(int)) {
    int type = 0;
    std::memcpy(&type, buffers[0], sizeof type);
    if (type == kPahoPublishCommand) std::memcpy(&token, buffers[1], sizeof token);
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

int PahoPersistence::do_open() {
  std::lock_guard lock(mutex_);
  memory_.clear();
  durable_keys_.clear();
  tag_by_packet_id_.clear();
  for (auto& r : durable_.load()) {
    int id = packet_id(r.key, "s-");
    if (id < 0) id = packet_id(r.key, "sc-");
    if (id >= 0 && r.tag != 0) tag_by_packet_id_[id] = r.tag;
    durable_keys_.insert(std::move(r.key));
  }
  if (!durable_keys_.empty())
    MQTTSN_LOG(info,
               "upstream: %zu record(s) of QoS 2 exchanges in progress found; the MQTT client resumes them",
               durable_keys_.size());
  return 0;
}

int PahoPersistence::do_put(const std::string& key, std::vector<std::uint8_t> value, int first_byte,
                            int token) {
  std::lock_guard lock(mutex_);
  int id = packet_id(key, "c-") >= 0 ? token : -1;
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
  }
  if (!durable) {
    memory_.insert_or_assign(key, std::move(value));
    return 0;
  }
  auto tag = tag_by_packet_id_.find(id);
  if (!durable_.put(key, value, tag == tag_by_packet_id_.end() ? 0 : tag->second)) {
    ++errors_;
    return MQTTCLIENT_PERSISTENCE_ERROR;
  }
  durable_keys_.insert(key);
  memory_.erase(key);
  return 0;
}

int PahoPersistence::do_get(const std::string& key, char** buffer, int* buflen) {
  std::lock_guard lock(mutex_);
  if (auto it = memory_.find(key); it != memory_.end()) {
    *buffer = copy_out(it->second);
    *buflen = static_cast<int>(it->second.size());
    return *buffer != nullptr ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
  }
  if (durable_keys_.count(key) == 0) return MQTTCLIENT_PERSISTENCE_ERROR;
  auto v = durable_.get(key);
  if (!v) return MQTTCLIENT_PERSISTENCE_ERROR;
  *buffer = copy_out(*v);
  *buflen = static_cast<int>(v->size());
  return *buffer != nullptr ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
}

bool PahoPersistence::completes(int id) {
  const std::string n = std::to_string(id);
  return t_last_removed == "s5-" + n || t_last_removed == "sc5-" + n;
}

int PahoPersistence::do_remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  // Paho removes "s-<id>" when the exchange ends (PUBACK, or PUBCOMP for QoS 2), or when it
  // cleans its session (see the header).
  const int sent = packet_id(key, "s-");
  const bool completion = sent >= 0 && completes(sent);
  t_last_removed = key;
  if (memory_.erase(key) > 0) {
    if (sent >= 0) tag_by_packet_id_.erase(sent);
    return 0;
  }
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
  if (!completion && tag != 0) {
    MQTTSN_LOG(info,
               "upstream: the MQTT client dropped a QoS 2 exchange (packet id %d) the broker no longer "
               "knows; the message is published again",
               sent);
    durable_.abandoned(tag);
  }
  return 0;
}

int PahoPersistence::do_keys(char*** keys, int* nkeys) {
  std::lock_guard lock(mutex_);
  const std::size_t n = memory_.size() + durable_keys_.size();
  *nkeys = static_cast<int>(n);
  *keys = nullptr;
  if (n == 0) return 0;
  *keys = static_cast<char**>(std::malloc(n * sizeof(char*)));
  if (*keys == nullptr) return MQTTCLIENT_PERSISTENCE_ERROR;
  std::size_t i = 0;
  for (const auto& [k, v] : memory_) (*keys)[i++] = strdup(k.c_str());
  for (const auto& k : durable_keys_) (*keys)[i++] = strdup(k.c_str());
  return 0;
}

int PahoPersistence::do_clear() {
  std::lock_guard lock(mutex_);
  memory_.clear();
  durable_keys_.clear();
  tag_by_packet_id_.clear();
  if (!durable_.clear()) {
    ++errors_;
    return MQTTCLIENT_PERSISTENCE_ERROR;
  }
  return 0;
}

bool PahoPersistence::has(const std::string& key) {
  std::lock_guard lock(mutex_);
  return memory_.count(key) > 0 || durable_keys_.count(key) > 0;
}

}  // namespace mqttsn::bridge
