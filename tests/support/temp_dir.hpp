#pragma once
// A throwaway directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
#include <filesystem>
#include <string>
#include <string_view>

namespace mqttsn::test {

class TempDir {
 public:
  explicit TempDir(std::string_view tag = "mqttsn");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }
  // Writes (replaces) a file in the directory and returns its full path.
  std::string write(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace mqttsn::test
