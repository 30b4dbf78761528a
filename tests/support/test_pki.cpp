#include "support/test_pki.hpp"

#include <stdexcept>

#include "support/run_command.hpp"

namespace mqttsn::test {

namespace {

void must(const std::vector<std::string>& argv, const std::string& log) {
  if (run_command(argv, log) != 0)
    throw std::runtime_error("command failed: " + argv[0] + " " + argv[1] + " (see " + log + ")");
}

void make_ca(const TempDir& dir, const std::string& name, const std::string& log) {
  // EC keys: much faster to generate than RSA, and mosquitto/Paho accept them.
  must({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", dir.file(name + ".key"), "-out", dir.file(name + ".crt"), "-days", "2", "-subj",
        "/CN=" + name},
       log);
}

}  // namespace

TestPki make_test_pki(const TempDir& dir, const std::vector<std::string>& dns_names,
                      const std::vector<std::string>& ip_addresses) {
  const std::string log = dir.file("openssl.log");
  make_ca(dir, "test-ca", log);
  make_ca(dir, "other-ca", log);

  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  std::string ext =
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
      "extendedKeyUsage=serverAuth\n";
  if (!san.empty()) ext += "subjectAltName=" + san + "\n";
  dir.write("server.ext", ext);

  must({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", dir.file("server.key"), "-out", dir.file("server.csr"), "-subj",
        "/CN=" + (dns_names.empty() ? std::string("server") : dns_names.front())},
       log);
  must({"openssl", "x509", "-req", "-in", dir.file("server.csr"), "-CA", dir.file("test-ca.crt"), "-CAkey",
        dir.file("test-ca.key"), "-CAcreateserial", "-out", dir.file("server.crt"), "-days", "2", "-extfile",
        dir.file("server.ext")},
       log);

  return TestPki{dir.file("test-ca.crt"), dir.file("test-ca.key"), dir.file("server.crt"),
                 dir.file("server.key"), dir.file("other-ca.crt")};
}

TestCert make_client_cert(const TempDir& dir, const TestPki& pki, const std::string& common_name,
                          bool signed_by_other_ca, const std::vector<std::string>& subject_alt_names) {
  const std::string log = dir.file("openssl.log");
  const std::string base = "client-" + common_name + (signed_by_other_ca ? "-other-ca" : "") +
                           (subject_alt_names.empty() ? "" : "-san");
  std::string ext = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
  if (!subject_alt_names.empty()) {
    ext += "subjectAltName=";
    for (std::size_t i = 0; i < subject_alt_names.size(); ++i) ext += (i ? "," : "") + subject_alt_names[i];
    ext += "\n";
  }
  dir.write(base + ".ext", ext);
  must({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", dir.file(base + ".key"), "-out", dir.file(base + ".csr"), "-subj", "/CN=" + common_name},
       log);
  const std::string ca = signed_by_other_ca ? pki.other_ca_cert : pki.ca_cert;
  const std::string ca_key = signed_by_other_ca ? dir.file("other-ca.key") : pki.ca_key;
  must(
      {"openssl", "x509", "-req", "-in", dir.file(base + ".csr"), "-CA", ca, "-CAkey", ca_key,
       "-CAcreateserial", "-out", dir.file(base + ".crt"), "-days", "2", "-extfile", dir.file(base + ".ext")},
      log);
  return TestCert{dir.file(base + ".crt"), dir.file(base + ".key")};
}

}  // namespace mqttsn::test
