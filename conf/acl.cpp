#include "conf/acl.hpp"

#include "conf/placeholders.hpp"
#include "conf/text_file.hpp"
#include "conf/topic_filter.hpp"

namespace mqttsn::conf {
namespace {

// Splits off the first blank-separated word; `rest` gets the trimmed remainder.
std::string_view first_word(std::string_view line, std::string_view& rest) {
  const auto blank = line.find_first_of(" \t");
  if (blank == std::string_view::npos) {
    rest = {};
    return line;
  }
  rest = trim(line.substr(blank));
  return line.substr(0, blank);
}

std::optional<AclAccess> parse_access(std::string_view word) {
  if (word == "read") return AclAccess::read;
  if (word == "write") return AclAccess::write;
  if (word == "readwrite") return AclAccess::readwrite;
  if (word == "deny") return AclAccess::deny;
  return std::nullopt;
}

bool dangerous_for_patterns(std::string_view client_id) {
  return client_id.find_first_of("+#/") != std::string_view::npos;
}

// In "pattern" lines: the client id (%c, or %u as mosquitto writes it) and %%.
constexpr PlaceholderValues kPatternPlaceholders{.client_id = std::string_view()};

}  // namespace

Acl::Result Acl::parse(std::string_view text, const std::string& file_name) {
  Result result;
  Acl acl;
  std::vector<AclRule>* current = &acl.everyone_;
  for (const auto& [number, line] : content_lines(text)) {
    auto error = [&](std::string message) {
      result.errors.push_back({file_name, number, "", std::move(message)});
    };
    std::string_view rest;
    const auto keyword = first_word(line, rest);
    if (keyword == "user") {
      if (rest.empty()) {
        error("\"user\" needs a client id");
        continue;
      }
      current = &acl.per_client_[std::string(rest)];
      continue;
    }
    if (keyword != "topic" && keyword != "pattern") {
      error("unknown keyword " + in_quotes(keyword) + "; expected \"user\", \"topic\" or \"pattern\"");
      continue;
    }
    AclRule rule;
    rule.pattern = keyword == "pattern";
    rule.line = number;
    std::string_view filter = rest;
    std::string_view after_access;
    const auto maybe_access = first_word(rest, after_access);
    if (!after_access.empty()) {
      // Like mosquitto: with two or more words the first is the access; a single word is the
      // topic with readwrite access.
      const auto access = parse_access(maybe_access);
      if (!access) {
        error("invalid access " + in_quotes(maybe_access) + "; expected read, write, readwrite or deny");
        continue;
      }
      rule.access = *access;
      filter = after_access;
    }
    if (filter.empty()) {
      error(in_quotes(keyword) + " needs a topic filter, e.g. \"" + std::string(keyword) +
            " read sensors/#\"");
      continue;
    }
    if (rule.pattern) {
      if (auto problem = placeholder_problem(filter, kPatternPlaceholders)) {
        error("invalid pattern " + in_quotes(filter) + ": " + *problem);
        continue;
      }
    }
    rule.per_client = rule.pattern && uses_client_id(filter);
    // A pattern without the client id is the same for everyone: expanded (its %%) once, here.
    rule.filter = rule.pattern && !rule.per_client ? expand_placeholders(filter, {}) : std::string(filter);
    if (auto problem = topic_filter_problem(rule.filter)) {
      error("invalid topic filter " + in_quotes(filter) + ": " + *problem);
      continue;
    }
    if (rule.pattern)
      acl.patterns_.push_back(std::move(rule));
    else
      current->push_back(std::move(rule));
  }
  if (result.errors.empty()) result.acl = std::move(acl);
  return result;
}

Acl::Result Acl::load(const std::filesystem::path& file) {
  Result result;
  const auto text = read_text_file(file, file.string(), result.errors);
  if (!text) return result;
  return parse(*text, file.string());
}

std::size_t Acl::rule_count() const {
  std::size_t n = everyone_.size() + patterns_.size();
  for (const auto& [id, rules] : per_client_) n += rules.size();
  return n;
}

template <class Visit>
void Acl::for_each_rule(std::string_view client_id, Visit&& visit) const {
  for (const auto& rule : everyone_) visit(rule, std::string_view(rule.filter));
  if (!client_id.empty()) {
    if (auto it = per_client_.find(std::string(client_id)); it != per_client_.end())
      for (const auto& rule : it->second) visit(rule, std::string_view(rule.filter));
  }
  const bool substitutable = !client_id.empty() && !dangerous_for_patterns(client_id);
  for (const auto& rule : patterns_) {
    if (!rule.per_client) {
      visit(rule, std::string_view(rule.filter));
    } else if (substitutable) {
      const std::string filter = expand_placeholders(rule.filter, {.client_id = client_id});
      visit(rule, std::string_view(filter));
    }
  }
}

bool Acl::allowed(std::string_view client_id, std::string_view target, Want want) const {
  bool denied = false, granted = false;
  const auto needed = want == Want::write ? AclAccess::write : AclAccess::read;
  for_each_rule(client_id, [&](const AclRule& rule, std::string_view filter) {
    if (rule.access == AclAccess::deny) {
      if (want == Want::write ? topic_matches(filter, target) : filters_intersect(filter, target))
        denied = true;
      return;
    }
    if ((static_cast<std::uint8_t>(rule.access) & static_cast<std::uint8_t>(needed)) == 0) return;
    if (want == Want::write ? topic_matches(filter, target) : filter_covers(filter, target)) granted = true;
  });
  return granted && !denied;
}

bool Acl::may_publish(std::string_view client_id, std::string_view topic) const {
  return allowed(client_id, topic, Want::write);
}

bool Acl::may_subscribe(std::string_view client_id, std::string_view filter) const {
  return allowed(client_id, filter, Want::subscribe);
}

}  // namespace mqttsn::conf
