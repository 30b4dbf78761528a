#include "web/status_reply.hpp"

#include <nlohmann/json.hpp>

namespace mqttsn::web {

StatusReply parse_status_reply(std::string_view line) {
  StatusReply r;
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.error = "not a JSON object";
    return r;
  }
  if (auto it = j.find("error"); it != j.end()) {
    r.error = it->is_string() ? it->get<std::string>() : it->dump();
    return r;
  }
  r.ok = true;
  return r;
}

std::vector<std::string> LineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto chunk = bytes.substr(0, nl);
    if (!skipping_) partial_.append(chunk);
    if (partial_.size() > max_line_) {
      partial_.clear();
      skipping_ = true;
      ++oversized_;
    }
    if (nl == std::string_view::npos) break;
    if (!skipping_) lines.push_back(std::move(partial_));
    partial_.clear();
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
  return lines;
}

bool is_allowed_request(std::string_view request) {
  std::string_view id;
  if (request.starts_with("kick "))
    id = request.substr(5);
  else if (request.starts_with("clear-buffer "))
    id = request.substr(13);
  else
    return false;
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace mqttsn::web
