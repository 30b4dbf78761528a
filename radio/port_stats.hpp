#pragma once
// The serial port's counters in a link's stats: the XBee link and the plain serial link both run on a
// SerialPort and report its counters under the same names. Each counter of the port's list
// (MQTTSN_SERIAL_PORT_COUNTERS) is copied to the link's counter of that name: a compile error if the
// link has none.
#include "radio/link.hpp"
#include "radio/serial_port.hpp"

namespace mqttsn::radio {

inline void copy_port_stats(const SerialPortStats& from, LinkStats& to) {
#define MQTTSN_COPY_PORT_COUNTER(name) to.name = from.name;
  MQTTSN_SERIAL_PORT_COUNTERS(MQTTSN_COPY_PORT_COUNTER)
#undef MQTTSN_COPY_PORT_COUNTER
}

}  // namespace mqttsn::radio
