#pragma once
// Runs a program (no shell) and waits for it: for openssl and mosquitto_passwd in test set-up.
#include <string>
#include <vector>

namespace mqttsn::test {

// Returns the exit status (-1 if it could not run or was killed). stdout/stderr go to `log_file`
// when given, else to /dev/null.
int run_command(const std::vector<std::string>& argv, const std::string& log_file = {});

}  // namespace mqttsn::test
