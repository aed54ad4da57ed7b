// Where the tools may read and write: every path an agent passes must resolve, after symlinks
// and "..", inside one of the server's root folders. Relative paths are taken from the first
// root. Resolution follows the symlinks that exist when the call starts (a folder swapped for a
// symlink between that check and the write is outside what this guards; the roots are the
// caller's own folders).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace slmkit::mcp {

class PathPolicy {
 public:
  // Each root must be an existing folder; Error(invalid_input) naming it otherwise. Empty: the
  // current directory.
  explicit PathPolicy(const std::vector<std::filesystem::path>& roots);

  const std::vector<std::filesystem::path>& roots() const { return roots_; }

  // An input that must exist (a model, an artifact). `argument` names the tool argument in
  // the Error(invalid_input) that refuses it.
  std::filesystem::path existing(const std::string& argument, const std::string& value) const;
  // A path to write: inside a root and not a root itself; it need not exist.
  std::filesystem::path output(const std::string& argument, const std::string& value) const;

 private:
  std::filesystem::path resolve(const std::string& argument, const std::string& value) const;
  std::vector<std::filesystem::path> roots_;  // canonical
};

}  // namespace slmkit::mcp
