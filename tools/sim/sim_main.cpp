// mqttsn-sim: simulated MQTT-SN sensor nodes for trying and testing the gateway without a radio.
#include <cstdio>

#include "tools/sim/sim_options.hpp"
#include "tools/sim/sim_runner.hpp"

int main(int argc, char** argv) {
  int exit_code = 0;
  auto opts = mqttsn::sim::parse_options(argc, argv, exit_code);
  if (!opts) return exit_code;
  // Line-buffered even into a pipe: scripts and tests wait for the device line and the messages.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mqttsn::sim::SimRunner runner(std::move(*opts));
  return runner.run();
}
