#include "subscription_tree.hpp"

#include <algorithm>

namespace mqttsn {

namespace {
bool level_less(const std::unique_ptr<SubscriptionTree::Node>& a, std::string_view b) {
  return a->level < b;
}
}  // namespace

SubscriptionTree::Node* SubscriptionTree::Node::child(std::string_view name) const {
  auto it = std::lower_bound(children.begin(), children.end(), name, level_less);
  if (it != children.end() && (*it)->level == name) return it->get();
  return nullptr;
}

SubscriptionTree::SubscriptionTree() : root_(std::make_unique<Node>()) {}

SubscriptionTree::Node* SubscriptionTree::find(std::string_view filter) const {
  Node* n = root_.get();
  for (;;) {
    auto slash = filter.find('/');
    n = n->child(filter.substr(0, slash));
    if (!n) return nullptr;
    if (slash == std::string_view::npos) return n;
    filter.remove_prefix(slash + 1);
  }
}

SubscriptionTree::Node& SubscriptionTree::insert(std::string_view filter) {
  Node* n = root_.get();
  for (;;) {
    auto slash = filter.find('/');
    std::string_view level = filter.substr(0, slash);
    auto it = std::lower_bound(n->children.begin(), n->children.end(), level, level_less);
    if (it == n->children.end() || (*it)->level != level) {
      auto c = std::make_unique<Node>();
      c->level = std::string(level);
      c->parent = n;
      it = n->children.insert(it, std::move(c));
    }
    n = it->get();
    if (slash == std::string_view::npos) return *n;
    filter.remove_prefix(slash + 1);
  }
}

void SubscriptionTree::prune(Node* n) {
  while (n && n != root_.get() && n->subscribers.empty() && n->waiters.empty() && n->children.empty() &&
         n->upstream == UpstreamSubState::none) {
    Node* parent = n->parent;
    auto& sib = parent->children;
    sib.erase(std::remove_if(sib.begin(), sib.end(), [n](const auto& c) { return c.get() == n; }), sib.end());
    if (sib.empty()) sib.shrink_to_fit();
    n = parent;
  }
}

std::string SubscriptionTree::filter_of(const Node* n) const {
  std::vector<const Node*> path;
  for (; n && n != root_.get(); n = n->parent) path.push_back(n);
  std::string out;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (!out.empty() || it != path.rbegin()) out += '/';
    out += (*it)->level;
  }
  return out;
}

std::size_t SubscriptionTree::node_count() const {
  std::size_t count = 0;
  std::vector<const Node*> stack{root_.get()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    ++count;
    for (const auto& c : n->children) stack.push_back(c.get());
  }
  return count - 1;
}

bool has_wildcard(std::string_view filter) {
  return filter.find_first_of("+#") != std::string_view::npos;
}

bool valid_topic_name(std::string_view name) {
  return !name.empty() && !has_wildcard(name) && name.find('\0') == std::string_view::npos;
}

bool valid_filter(std::string_view filter) {
  if (filter.empty() || filter.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  for (;;) {
    auto slash = filter.find('/', start);
    std::string_view level = filter.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (level.size() > 1 && has_wildcard(level)) return false;
    if (level == "#" && slash != std::string_view::npos) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

}  // namespace mqttsn
