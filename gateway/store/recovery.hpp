#pragma once
// Moving a damaged database out of the way, keeping it for a post-mortem instead of deleting it.
#include <chrono>
#include <filesystem>
#include <string>

namespace mqttsn::store::recovery {

// "20261126T013045Z"
std::string utc_stamp(std::chrono::system_clock::time_point t);

// Renames `db` and its -wal/-shm companions to "<db>.corrupt-<stamp>" (+ "-wal"/"-shm"); a name
// already taken (two recoveries in one second) gets "-2", "-3"... Returns the new main file's
// path, or an empty path with `error` set when the rename failed (the directory is not writable).
std::filesystem::path move_aside(const std::filesystem::path& db, std::chrono::system_clock::time_point now,
                                 std::string& error);

}  // namespace mqttsn::store::recovery
