#pragma once
// The gateway's durable state in one embedded SQLite database: uplink QoS 1/2 messages already
// acknowledged to their node but not yet to the broker, and opaque per-client session blobs.
// One connection, used from one thread (the daemon's loop). Writes are group-committed: they join
// one transaction that commit() ends with a single WAL sync (synchronous=FULL), so the daemon
// acknowledges a node's message only after the commit() that made it durable.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqttsn::store {

struct StoreLimits {
  std::size_t max_uplink_messages = 10000;
  std::size_t max_uplink_bytes = 8u << 20;
};

struct UplinkRecord {   // an uplink QoS 1/2 message acknowledged to its node, not yet to the broker
  std::int64_t id = 0;  // strictly increasing in arrival order, never reused (AUTOINCREMENT)
  std::string client_id;
  std::string topic;
  std::vector<std::uint8_t> payload;
  int qos = 1;  // MQTT-SN QoS of the node's publish (1 or 2)
  bool retain = false;
};

struct SessionRecord {
  std::string client_id;
  std::vector<std::uint8_t> data;  // opaque blob
};

struct SessionMessageRecord {  // a downlink message a kept session holds
  std::string client_id;
  std::uint64_t seq = 0;  // the caller's key, unique per client id; loaded in this order
  std::string topic;
  std::vector<std::uint8_t> payload;
  int qos = 0;
  bool retain = false;
};

struct StoreStats {
  std::size_t sessions = 0;
  std::size_t session_messages = 0, session_message_bytes = 0;  // rows, topic+payload octets
  std::size_t uplink_messages = 0, uplink_bytes = 0;  // payload+topic octets held in the uplink table
  std::uint64_t commits = 0;       // transactions committed since open (each = one WAL sync)
  std::uint64_t rows_written = 0;  // inserts+updates+deletes since open
  std::uint64_t file_bytes = 0;    // database file + -wal file size on disk now
  std::uint64_t errors = 0;        // SQLite errors since open
  // Process-wide, since the process started: every SQLite file opened through the counting VFS
  // (io_counting_vfs.hpp), i.e. this store and the upstream records file together.
  std::uint64_t bytes_written = 0;  // bytes SQLite wrote to its files (WAL, database, checkpoints)
  std::uint64_t syncs = 0;          // fsyncs SQLite asked for (each one a flush an SD card pays for)
};

struct OpenReport {                // what open() did, for the daemon's log and the status socket
  bool recovered = false;          // the old file was damaged/unreadable and moved aside
  std::filesystem::path moved_to;  // where it went: "<path>.corrupt-20261126T013045Z"
  std::string detail;              // SQLite's own words, e.g. "file is not a database"
  int schema_version = 0;
};

class Store {
 public:
  // Opens or creates the database (parent directory created if missing). nullptr + `error` only when
  // the path cannot be used at all (permission, read-only fs): the caller then runs without a store.
  // A damaged file never makes open fail: it is moved aside (with its -wal/-shm) and a new one made.
  // So is a file whose schema version is newer than this code knows (OpenReport::detail says so).
  // (A damaged file that cannot be renamed, the directory being read-only, is an unusable path.)
  static std::unique_ptr<Store> open(const std::filesystem::path& path, StoreLimits limits,
                                     OpenReport& report, std::string& error);
  ~Store();  // commits what is pending, closes
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Group commit: every write joins the current transaction, begun by the first write after a
  // commit; commit() ends it with one sync. The daemon calls commit() once per loop turn.
  bool uplink_has_room(std::size_t topic_and_payload_bytes) const;  // limits, from in-memory counts
  // 0 on error, on a qos other than 1/2, and when !uplink_has_room(topic.size() + payload.size())
  // (the limits hold even if the caller forgot to ask).
  std::int64_t add_uplink(std::string_view client_id, std::string_view topic,
                          std::span<const std::uint8_t> payload, int qos, bool retain);
  void remove_uplink(std::int64_t id);            // an unknown id is a no-op
  std::vector<UplinkRecord> load_uplink() const;  // all, in id order (pending writes included)
  void put_session(std::string_view client_id, std::span<const std::uint8_t> data);  // upsert
  void erase_session(std::string_view client_id);                                    // and its messages
  std::vector<SessionRecord> load_sessions() const;                                  // in client_id order
  void put_session_message(const SessionMessageRecord& m);  // upsert by (client_id, seq)
  void erase_session_message(std::string_view client_id, std::uint64_t seq);
  void erase_session_messages(std::string_view client_id);
  std::vector<SessionMessageRecord> load_session_messages() const;  // by client_id, then seq
  // How far the upstream file's inbox (upstream_records.hpp) has been taken into sessions: written in
  // the transaction that stores those sessions. 0 before the first.
  void note_inbox_taken(std::int64_t id);
  std::int64_t inbox_taken() const;
  bool pending() const;  // a transaction is open
  // false on error (logged with MQTTSN_LOG). A failed commit rolls the transaction back: the writes
  // made since the last good commit are gone (and were never acknowledged, if the caller follows
  // the rule above); the in-memory counts are re-read from the file.
  bool commit();
  StoreStats stats() const;
  const std::filesystem::path& path() const;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqttsn::store
