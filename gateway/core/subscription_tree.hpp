#pragma once
// The one subscription tree: a node per topic level, `+` and `#` as ordinary level names, so an
// inbound message finds its subscribers in O(levels) without scanning clients. A node that carries
// subscribers is a "filter": it also holds the upstream state of that filter (reference count =
// subscribers.size(), requested/granted QoS) and the SUBSCRIBEs waiting for the broker's SUBACK.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "messages.hpp"

namespace mqttsn {

enum class UpstreamSubState : std::uint8_t { none, pending, granted };

struct Subscriber {
  std::uint32_t session = 0;  // session slot
  QoS qos = 0;                // granted to this client
  // Held on the client's own broker connection (per-node or mixed mode): what the shared connection
  // brings is not for it, and it does not keep the filter subscribed there.
  bool own_connection = false;
};

// A client SUBSCRIBE waiting for the broker's answer on this filter.
struct SubscribeWaiter {
  std::uint32_t session = 0;
  std::uint32_t serial = 0;  // the session's serial: a reused slot does not get a stranger's SUBACK
  std::uint16_t msg_id = 0;
  std::uint16_t topic_id = 0;  // for the SUBACK
  QoS requested = 0;
  TopicIdType kind = TopicIdType::normal;  // how the client named the filter
  bool own_connection = false;             // waits for its own connection's SUBACK, not the shared one's
};

class SubscriptionTree {
 public:
  struct Node {
    std::string level;
    Node* parent = nullptr;
    std::vector<std::unique_ptr<Node>> children;  // sorted by level
    std::vector<Subscriber> subscribers;
    std::vector<SubscribeWaiter> waiters;
    UpstreamSubState upstream = UpstreamSubState::none;
    QoS requested = -1;  // QoS asked upstream (the max any client asked for)
    QoS granted = 0;     // valid when upstream == granted

    Node* child(std::string_view name) const;
  };

  SubscriptionTree();
  Node* find(std::string_view filter) const;
  Node& insert(std::string_view filter);
  // Removes `n` and its now-empty ancestors when nothing refers to them any more.
  void prune(Node* n);
  std::string filter_of(const Node* n) const;

  // Calls f(const Subscriber&) for every subscriber of every filter matching `topic`.
  template <class F>
  void match(std::string_view topic, F&& f) const {
    match_from(*root_, topic, 0, true, f);
  }
  // Calls f(const Node&) for every node that is a filter (has subscribers, waiters or upstream state).
  template <class F>
  void for_each_filter(F&& f) const {
    walk(*root_, f);
  }
  std::size_t node_count() const;

 private:
  template <class F>
  static void walk(const Node& n, F& f) {
    if (!n.subscribers.empty() || !n.waiters.empty() || n.upstream != UpstreamSubState::none) f(n);
    for (const auto& c : n.children) walk(*c, f);
  }
  template <class F>
  static void emit(const Node& n, F& f) {
    for (const auto& s : n.subscribers) f(s);
  }
  // `rest` is what is left of the topic after the levels already consumed; `at_end` tells whether
  // the topic ended (rest empty can also be a trailing empty level, e.g. "a/").
  template <class F>
  static void match_from(const Node& n, std::string_view rest, std::size_t depth, bool more, F& f) {
    if (!more) {
      emit(n, f);
      // "a/#" also matches "a" (the parent level).
      if (const Node* h = n.child("#")) emit(*h, f);
      return;
    }
    auto slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    std::string_view tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    bool tail_more = slash != std::string_view::npos;
    // MQTT 4.7.2: topics starting with '$' are not matched by a leading wildcard.
    bool wildcards_ok = !(depth == 0 && !level.empty() && level.front() == '$');
    if (wildcards_ok) {
      if (const Node* h = n.child("#")) emit(*h, f);
      if (const Node* p = n.child("+")) match_from(*p, tail, depth + 1, tail_more, f);
    }
    if (level != "+" && level != "#")
      if (const Node* c = n.child(level)) match_from(*c, tail, depth + 1, tail_more, f);
  }

  std::unique_ptr<Node> root_;
};

// MQTT 3.1.1 rules: `+` and `#` alone in their level, `#` last; not empty. Names of PUBLISH/REGISTER
// /will topics must not contain wildcards at all.
bool valid_filter(std::string_view filter);
bool valid_topic_name(std::string_view name);
bool has_wildcard(std::string_view filter);

}  // namespace mqttsn
