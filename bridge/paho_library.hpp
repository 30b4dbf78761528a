#pragma once
// Paho's MQTTAsync library, loaded at run time rather than linked: libpaho-mqtt3as (TLS) maps libssl
// and libcrypto into the process and touches them at start even when every server is tcp://, which
// is over 1 MB of an idle gateway's memory. One binary loads libpaho-mqtt3a when no server needs TLS
// and libpaho-mqtt3as only when one does; both come with Debian's libpaho-mqtt1.3.
//
// Every Paho call of the bridge goes through api(). The Paho headers still give the types and the
// initializer macros. Once loaded, the library stays for the life of the process: the two export the
// same symbols, so they are never both loaded, and a change from tcp:// to ssl:// needs a restart.
#include <MQTTAsync.h>

#include <string>

#include "bridge/bridge_options.hpp"

namespace mqttsn::bridge::paho {

enum class Flavour { plain, tls };  // libpaho-mqtt3a, libpaho-mqtt3as

struct Api {
  Flavour flavour = Flavour::plain;
  const char* soname = "";
  decltype(&MQTTAsync_global_init) global_init = nullptr;
  decltype(&MQTTAsync_createWithOptions) createWithOptions = nullptr;
  decltype(&MQTTAsync_setCallbacks) setCallbacks = nullptr;
  decltype(&MQTTAsync_connect) connect = nullptr;
  decltype(&MQTTAsync_disconnect) disconnect = nullptr;
  decltype(&MQTTAsync_destroy) destroy = nullptr;
  decltype(&MQTTAsync_sendMessage) sendMessage = nullptr;
  decltype(&MQTTAsync_subscribe) subscribe = nullptr;
  decltype(&MQTTAsync_unsubscribe) unsubscribe = nullptr;
  decltype(&MQTTAsync_freeMessage) freeMessage = nullptr;
  decltype(&MQTTAsync_free) free = nullptr;
  decltype(&MQTTAsync_getPendingTokens) getPendingTokens = nullptr;
  decltype(&MQTTAsync_isComplete) isComplete = nullptr;
  decltype(&MQTTAsync_getVersionInfo) getVersionInfo = nullptr;
};

struct Loaded {
  const Api* api = nullptr;  // nullptr: `error` says why
  std::string error;
};

// True when the options need the TLS library: an ssl://, mqtts:// or wss:// server, or a TLS file set.
bool is_tls_uri(const std::string& uri);
bool needs_tls(const BridgeOptions& options);

// Loads the library once: a Paho library the process already has (a program linked with it, like
// the test harness) is used when it can do what is wanted; otherwise libpaho-mqtt3as.so.1 for
// Flavour::tls, libpaho-mqtt3a.so.1 for Flavour::plain. Later calls return the same library, or an
// error when it is the plain one and TLS is wanted. Thread-safe.
Loaded load(Flavour wanted);

// The library loaded; loads the plain one (or whichever the process has) if none is yet, and ends the
// process with the reason on stderr when that fails. The bridge calls load() first and reports its
// error; this is for code that runs only after that (Paho's callbacks, persistence).
const Api& api();

// What has been loaded, if anything.
const Api* loaded();

}  // namespace mqttsn::bridge::paho
