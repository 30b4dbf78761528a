#pragma once
// Paho's persistence interface (MQTTCLIENT_PERSISTENCE_USER), deciding record by record what must
// outlive a crash.
//
// Exactly once at QoS 2 across a gateway crash needs the broker to see a resent PUBLISH under the
// packet id it already knows, and only Paho can resend under an old id: so the records of a QoS 2
// exchange ("s-<id>": PUBLISH sent, "sc-<id>": PUBREL sent) go to DurableRecords, and Paho writes
// each before the packet reaches the socket (checked against Paho 1.3.11/12). Everything else stays
// in memory or nowhere: a sent QoS 1 PUBLISH is not kept at all (Paho resends from its own memory,
// and after a crash the store row is published again: at least once, as QoS 1 promises), commands
// not yet sent ("c-<n>": Paho drops that record before it writes "s-<id>", so
// the store row, not this record, covers the message until then).
//
// Downlink: a QoS 2 PUBLISH received ("r-<id>") is durable too, as Paho sends PUBREC right after
// writing it and from then on the broker only resends PUBREL. At PUBREL the message reaches our
// callback, which (for a kept session) moves it into the inbox with add_to_inbox(): the inbox row
// and the removal of "r-<id>" are one transaction, so a crash leaves the message in exactly one of
// the two. A QoS 1 message has no record: the callback writes it to the inbox before Paho sends
// PUBACK (see bridge/paho_callbacks.hpp).
//
// Each durable record carries the tag (store row) of its message, so that after a restart the app
// knows which rows Paho will finish by itself, and when Paho removes "s-<id>" (PUBCOMP received)
// the tag is noted as delivered in the same transaction: no moment exists at which a completed
// message looks undelivered, or an undelivered one looks completed.
//
// Paho also removes "s-<id>" when it throws its session away (the broker answered CONNACK with
// session present = 0): that is no delivery. Paho 1.3's completion path removes the MQTT 5 twins
// "s5-<id>"/"sc5-<id>" first, its clean-session path does not (it walks pkeys()); that is how the
// two are told apart. An exchange given up is reported to the app (abandoned()), which publishes
// the message again. Should a future Paho change the order, completions would go unnoticed here:
// the rows then wait for the bridge's own success callback, or are published again after a crash
// (at least once), never lost.
//
// The tag reaches us through the loop thread: Bridge::send() sets it (Handing) around
// MQTTAsync_sendMessage(), during which Paho stores "c-<n>" whose second field is the packet id.
#include <MQTTClientPersistence.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bridge/durable_records.hpp"

namespace mqttsn::bridge {

class PahoPersistence {
 public:
  explicit PahoPersistence(DurableRecords& durable);
  ~PahoPersistence();
  PahoPersistence(const PahoPersistence&) = delete;
  PahoPersistence& operator=(const PahoPersistence&) = delete;

  // For MQTTAsync_createWithOptions(..., MQTTCLIENT_PERSISTENCE_USER, interface(), ...).
  MQTTClient_persistence* interface() { return &callbacks_; }

  // While alive on a thread, a PUBLISH command Paho stores from that thread belongs to `tag`.
  class Handing {
   public:
    explicit Handing(MessageTag tag);
    ~Handing();
    Handing(const Handing&) = delete;
    Handing& operator=(const Handing&) = delete;

   private:
    MessageTag previous_;
  };

  // A message from the broker for a kept session, on disk when this returns its inbox id (0: not
  // written, counted in errors(); kAlreadyInInbox: a QoS 2 message moved to the inbox at start, whose
  // exchange only now ends). Called on Paho's receive thread, from the message callback.
  static constexpr std::int64_t kAlreadyInInbox = -1;
  std::int64_t add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload, int qos,
                            bool retain, int packet_id);

  // A QoS 2 exchange the broker will not complete: it answered the PUBLISH `packet_id` with a PUBACK
  // (it has no QoS 2; `delivered`: it has the message, at QoS 1), or not at all. Paho would keep
  // "s-<id>" and resend the PUBLISH at every reconnect and restart. Removes the record (noting the
  // message delivered if so), and stores no resend of it again (Paho keeps the packet id in use until
  // the client is destroyed). Loop thread. True when a record was removed.
  bool settle_qos2(int packet_id, bool delivered);

  std::uint64_t errors() const;  // durable writes that failed
  // MQTTAsync_create has returned: Paho's restoring of its records at start is over.
  void restored() { restoring_ = false; }

 private:
  static int open(void** handle, const char* client_id, const char* server_uri, void* context);
  static int close(void* handle);
  static int put(void* handle, char* key, int bufcount, char* buffers[], int buflens[]);
  static int get(void* handle, char* key, char** buffer, int* buflen);
  static int remove(void* handle, char* key);
  static int keys(void* handle, char*** keys, int* nkeys);
  static int clear(void* handle);
  static int contains(void* handle, char* key);

  int do_open();
  int do_put(const std::string& key, std::vector<std::uint8_t> value, int first_byte, int token);
  int do_get(const std::string& key, char** buffer, int* buflen);
  int do_remove(const std::string& key);
  // This thread's previous removal was the completion path's twin of `sent_key` ("s-<id>").
  static bool completes(std::string_view sent_key);
  int do_keys(char*** keys, int* nkeys);
  int do_clear();
  bool has(const std::string& key);

  DurableRecords& durable_;
  MQTTClient_persistence callbacks_{};
  // Two locks, so that the loop thread storing a command and Paho's receive thread ending an
  // exchange do not wait on each other: memory_mutex_ guards memory_ ("c-", "r-" records),
  // mutex_ the rest. Taken together (keys, clear, open) always in that order: mutex_ first.
  mutable std::mutex mutex_;
  std::mutex memory_mutex_;
  std::unordered_map<std::string, std::vector<std::uint8_t>> memory_;
  std::unordered_set<std::string> durable_keys_;
  std::atomic<std::size_t> durable_count_{0};  // durable_keys_.size(), readable without the lock
  // Paho <= 1.3.12 as Debian builds it never frees the buffer pget() returns for a command it is about
  // to send (ASan: one leak per message). Those buffers are kept here and freed when Paho removes the
  // command's record, which it does right after reading it. This is on for Paho <= 1.3.12 only, taking
  // later versions to free it themselves. But Paho 1.3.11 does call free() on that buffer
  // (MQTTAsyncUtils.c line 1267, in its trace): it survives because Debian builds Paho with its heap
  // tracking, whose free() ignores memory Paho did not allocate. So the build option decides, not the
  // version: a Paho <= 1.3.12 built without heap tracking (PAHO_HIGH_PERFORMANCE) frees it, and this
  // frees it twice; a later Paho with heap tracking still keeps it, and with this off it leaks.
  // tests/bridge/test_paho_contract.cpp checks the installed library against what this flag expects.
  bool paho_leaks_command_buffers_;
  std::unordered_map<std::string, char*> lent_;  // under memory_mutex_
  // Paho 1.3.11 also keeps what pget()/pkeys() returned while it restores records at start (at most
  // the QoS 2 window, once per start) and the key list of a clean-session cleanup. Those buffers come
  // from functions of their own (restore_copy, key_list) that the sanitizer run's suppression names.
  std::atomic<bool> restoring_{false};
  std::unordered_map<int, MessageTag> tag_by_packet_id_;
  // Packet ids of received QoS 2 messages moved to the inbox at start (their records carry this tag).
  static constexpr MessageTag kTakenIntoInbox = -1;
  std::unordered_set<int> taken_into_inbox_;
  // Packet ids of QoS 2 PUBLISHes the broker will not complete (settle_qos2).
  std::unordered_set<int> acked_qos2_;
  std::uint64_t errors_ = 0;
};

}  // namespace mqttsn::bridge
