#pragma once
// The upstream MQTT client's in-flight records (Paho's persistence), in a SQLite file of their own
// beside the store: what a restarted gateway needs to finish a QoS 2 exchange with the broker under
// the same packet id instead of publishing the message again under a new one.
//
// Why a second file and not a table in the store: Paho writes these records from its own threads
// while holding its client lock, and the daemon's loop holds the store's write transaction open for
// a whole loop turn (group commit) during which it calls Paho. In one file the two would wait on
// each other (the loop on Paho's lock, Paho on the loop's transaction). Two files, two locks.
//
// The same file holds the inbox: messages from the broker that a kept session may need, written
// before the broker hears they arrived (Paho acknowledges a QoS 1 message right after our callback
// returns, and a QoS 2 one at PUBREL). The loop takes them into sessions; the main store notes how
// far in the transaction that stores those sessions (Store::note_inbox_taken), after which the rows
// are dropped here. A crash between the two leaves rows the next start takes again, exactly those
// after the noted id.
//
// Thread-safe: one connection, every call under one mutex. put() returns after a FULL sync (the
// record must be on disk before Paho writes the packet to the socket); remove() commits without
// waiting for the disk (a removal lost in a power cut leaves a record whose exchange the broker
// already finished: Paho resends a PUBREL, the broker answers PUBCOMP, nothing is delivered twice).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/store.hpp"

namespace mqttsn::store {

struct UpstreamRecord {
  std::string key;  // Paho's key: "s-12" (PUBLISH sent), "sc-12" (PUBREL sent)
  std::vector<std::uint8_t> value;
  std::int64_t row = 0;  // the store's uplink row this record carries, 0 for none
};

struct InboxMessage {
  std::int64_t id = 0;
  std::string topic;
  std::vector<std::uint8_t> payload;
  int qos = 1;
  bool retain = false;
};

class UpstreamRecords {
 public:
  // As Store::open: a damaged file is moved aside and replaced; nullptr only for an unusable path.
  static std::unique_ptr<UpstreamRecords> open(const std::filesystem::path& path, OpenReport& report,
                                               std::string& error);
  ~UpstreamRecords();
  UpstreamRecords(const UpstreamRecords&) = delete;
  UpstreamRecords& operator=(const UpstreamRecords&) = delete;

  // Insert or replace; a replacement with row 0 keeps the row the record had.
  bool put(std::string_view key, std::span<const std::uint8_t> value, std::int64_t row);
  // Removes `key`; with delivered_row != 0 notes that row as delivered, in the same transaction.
  bool remove(std::string_view key, std::int64_t delivered_row);
  std::optional<std::vector<std::uint8_t>> get(std::string_view key);
  std::vector<UpstreamRecord> load();  // all records, by key
  bool clear();                        // all records (Paho: a clean session); delivered rows stay

  std::vector<std::int64_t> delivered();  // rows noted by remove(), not yet forgotten
  bool forget_delivered(std::span<const std::int64_t> rows);

  // The message is on disk when this returns its id (0: not written, logged). `record_key`, when
  // not empty, is the "r-<id>" of the QoS 2 exchange that brought it, changed in the same transaction:
  // removed (the exchange is over), or marked as taken (row -1: the exchange goes on, and its PUBREL
  // must not bring the message a second time).
  enum class ExchangeRecord : std::uint8_t { remove, mark_taken };
  std::int64_t add_to_inbox(std::string_view topic, std::span<const std::uint8_t> payload, int qos,
                            bool retain, std::string_view record_key, ExchangeRecord what);
  std::vector<InboxMessage> inbox_after(std::int64_t id);  // in arrival order
  bool drop_inbox_through(std::int64_t id);                // without waiting for the disk
  std::size_t inbox_size();

  std::size_t size();          // records held
  std::uint64_t file_bytes();  // file + -wal on disk
  std::uint64_t errors();      // SQLite errors since open
  const std::filesystem::path& path() const;

  struct Impl;

 private:
  explicit UpstreamRecords(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where the records live for a store at `store_path`: "gateway.db" -> "gateway.upstream.db".
std::filesystem::path upstream_records_path(const std::filesystem::path& store_path);

}  // namespace mqttsn::store
