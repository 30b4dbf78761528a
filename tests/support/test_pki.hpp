#pragma once
// Certificates for TLS tests, made with the openssl command line into a temp dir: a CA, a server
// certificate signed by it (SAN: the given DNS names and IP addresses), and an unrelated second CA.
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace mqttsn::test {

struct TestPki {
  std::string ca_cert;
  std::string ca_key;
  std::string server_cert;
  std::string server_key;
  std::string other_ca_cert;  // a CA that did not sign the server certificate
};

// Throws std::runtime_error when openssl fails (its output is in <dir>/openssl.log).
struct TestCert {
  std::string cert;
  std::string key;
};

// A client certificate with subject CN=`common_name`, signed by the test CA (or by the other CA),
// with `subject_alt_names` ("DNS:node-7.example", "URI:urn:dev:node-7", ...) when given.
TestCert make_client_cert(const TempDir& dir, const TestPki& pki, const std::string& common_name,
                          bool signed_by_other_ca = false,
                          const std::vector<std::string>& subject_alt_names = {});

TestPki make_test_pki(const TempDir& dir, const std::vector<std::string>& dns_names = {"localhost"},
                      const std::vector<std::string>& ip_addresses = {"127.0.0.1"});

}  // namespace mqttsn::test
