#pragma once
// Where the daemon's log lines go: stderr, with a syslog priority prefix ("<4>") when stderr is
// connected to journald, so `journalctl -p warning` filters by level.
namespace mqttsn::app {

// Installs the stderr sink; detects journald through $JOURNAL_STREAM (set by systemd for the
// service's stderr) unless `force_prefix` says otherwise.
void install_log_sink();

}  // namespace mqttsn::app
