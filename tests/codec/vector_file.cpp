#include "codec/vector_file.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mqttsn::test {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1)
    out.push_back(trim(line.substr(start, bar - start)));
  out.push_back(trim(line.substr(start)));
  return out;
}

Vector parse_line(const std::string& line) {
  const auto f = split_fields(line);
  if (f.size() < 3 || f.size() > 4) throw std::runtime_error("bad vector line: " + line);
  Vector v;
  v.name = f[0];
  v.bytes = parse_hex(f[1]);
  v.description = f[2].substr(0, f[2].find(" -- "));
  if (f.size() == 4) {
    const std::string prefix = "invalid: ";
    if (f[3].rfind(prefix, 0) != 0) throw std::runtime_error("bad invalid field: " + line);
    const std::string rest = f[3].substr(prefix.size());
    v.reason = rest.substr(0, rest.find(" - "));
  }
  return v;
}

std::vector<Vector> load() {
  const std::string path = std::string(MQTTSN_TEST_DATA_DIR) + "/mqttsn-vectors.txt";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Vector> out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("sn_", 0) != 0) continue;  // comments, blank lines, other layers' vectors
    out.push_back(parse_line(line));
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> parse_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  std::istringstream in(hex);
  for (std::string octet; in >> octet;) {
    if (octet.size() != 2) throw std::runtime_error("bad hex octet: " + octet);
    out.push_back(static_cast<std::uint8_t>(std::stoul(octet, nullptr, 16)));
  }
  return out;
}

const std::vector<Vector>& sn_vectors() {
  static const std::vector<Vector> vectors = load();
  return vectors;
}

}  // namespace mqttsn::test
