#pragma once
// What comes back from the gateway's status socket: one JSON document per line. The companion passes
// replies through, but it must know a usable answer from an error or from garbage, and it splits the
// trace stream into its lines.
#include <string>
#include <string_view>
#include <vector>

namespace mqttsn::web {

struct StatusReply {
  bool ok = false;    // a JSON object without "error"
  std::string error;  // the gateway's "error", or why the line is not a usable answer
};

StatusReply parse_status_reply(std::string_view line);

// Accumulates bytes read from a stream and hands out the complete lines (without '\n'). A line longer
// than max_line is dropped whole (a broken peer must not grow the buffer for ever).
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 64u << 10) : max_line_(max_line) {}
  std::vector<std::string> feed(std::string_view bytes);
  std::size_t oversized() const { return oversized_; }

 private:
  std::size_t max_line_;
  std::string partial_;
  bool skipping_ = false;
  std::size_t oversized_ = 0;
};

// An allowed request of POST /api/request: "kick ID" or "clear-buffer ID" (one word of id, printable).
bool is_allowed_request(std::string_view request);

}  // namespace mqttsn::web
