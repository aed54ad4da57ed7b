#include "mcp/path_policy.h"

#include <system_error>

#include "core/fail.h"

namespace slmkit::mcp {
namespace fs = std::filesystem;

namespace {

bool inside(const fs::path& p, const fs::path& root) {
  const fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

std::string root_list(const std::vector<fs::path>& roots) {
  std::string s;
  for (const fs::path& r : roots) s += (s.empty() ? "" : ", ") + r.string();
  return s;
}

}  // namespace

PathPolicy::PathPolicy(const std::vector<fs::path>& roots) {
  std::vector<fs::path> given = roots;
  if (given.empty()) given.push_back(fs::current_path());
  for (const fs::path& r : given) {
    std::error_code ec;
    const fs::path c = fs::canonical(r, ec);
    if (ec || !fs::is_directory(c, ec)) {
      fail_invalid("--root {}: not an existing folder{}", r.string(),
                   ec ? " (" + ec.message() + ")" : std::string());
    }
    roots_.push_back(c);
  }
}

fs::path PathPolicy::resolve(const std::string& argument, const std::string& value) const {
  if (value.empty()) fail_invalid("{}: empty path", argument);
  if (value.find('\0') != std::string::npos)
    fail_invalid("{}: the path holds a NUL byte", argument);
  fs::path p = value;
  if (p.is_relative()) p = roots_.front() / p;
  std::error_code ec;
  // Symlinks of the part that exists are followed; "." and ".." of the rest are folded.
  fs::path resolved = fs::weakly_canonical(p, ec);
  if (ec) fail_invalid("{}: cannot resolve '{}': {}", argument, value, ec.message());
  if (resolved.filename().empty()) resolved = resolved.parent_path();  // "out/" is "out"
  for (const fs::path& root : roots_) {
    if (inside(resolved, root)) return resolved;
  }
  fail_invalid(
      "{}: '{}' resolves to '{}', outside the allowed roots ({}); rule: every path must "
      "resolve, after symlinks and '..', inside a --root folder",
      argument, value, resolved.string(), root_list(roots_));
}

fs::path PathPolicy::existing(const std::string& argument, const std::string& value) const {
  const fs::path p = resolve(argument, value);
  std::error_code ec;
  if (!fs::exists(p, ec)) fail_invalid("{}: '{}' does not exist", argument, value);
  return p;
}

fs::path PathPolicy::output(const std::string& argument, const std::string& value) const {
  const fs::path p = resolve(argument, value);
  for (const fs::path& root : roots_) {
    if (inside(root, p)) {
      fail_invalid(
          "{}: '{}' is or contains the root folder {}; rule: outputs go inside a root, never "
          "over one",
          argument, value, root.string());
    }
  }
  return p;
}

}  // namespace slmkit::mcp
