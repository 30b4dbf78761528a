#include "bridge/upstream_status.hpp"

namespace mqttsn::bridge {

const char* to_string(UpstreamState s) {
  switch (s) {
    case UpstreamState::stopped:
      return "stopped";
    case UpstreamState::connecting:
      return "connecting";
    case UpstreamState::connected:
      return "connected";
    case UpstreamState::auth_refused:
      return "auth_refused";
    case UpstreamState::refused:
      return "refused";
    case UpstreamState::tls_failed:
      return "tls_failed";
    case UpstreamState::unreachable:
      return "unreachable";
    case UpstreamState::disconnecting:
      return "disconnecting";
  }
  return "?";
}

}  // namespace mqttsn::bridge
