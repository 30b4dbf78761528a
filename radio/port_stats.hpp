#pragma once
// The serial port's counters in a link's stats: the XBee link and the plain serial link both run on a
// SerialPort and report its counters under the same names.
#include "radio/link.hpp"
#include "radio/serial_port.hpp"

namespace mqttsn::radio {

inline void copy_port_stats(const SerialPortStats& from, LinkStats& to) {
  to.bytes_in = from.bytes_in;
  to.bytes_out = from.bytes_out;
  to.queue_full_drops = from.queue_full_drops;
  to.not_open_drops = from.not_open_drops;
  to.unplugs = from.unplugs;
  to.open_failures = from.open_failures;
  to.reopen_attempts = from.reopen_attempts;
  to.opens = from.opens;
}

}  // namespace mqttsn::radio
