#include "slmkit/files.h"

#include <fstream>
#include <sstream>

#include "core/fail.h"

namespace slmkit {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_io("{}: cannot open for reading", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_io("{}: read failed", path.string());
  return std::move(ss).str();
}

}  // namespace slmkit
