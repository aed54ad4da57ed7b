#include "support/fixtures.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

namespace slmkit::testing {

std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("SLMKIT_FIXTURES")) return env;
  return SLMKIT_FIXTURES_DIR;
}

std::filesystem::path source_dir() {
  return SLMKIT_SOURCE_DIR;
}

std::string target_arch() {
  return SLMKIT_TEST_ARCH;
}

bool emulated() {
  return SLMKIT_TEST_EMULATED != 0;
}

bool have_fixtures() {
  return std::filesystem::is_regular_file(fixtures_dir() / "README.md");
}

std::filesystem::path fixture(const std::string& relative) {
  return fixtures_dir() / relative;
}

namespace {

// Removes the test's folders when the test process exits: some hold models of hundreds of MB,
// and ctest runs every test in its own process, so leftovers would fill /tmp over one CI run.
// SLMKIT_KEEP_TEST_DIRS=1 keeps them for a look. Only the process that made them removes them
// (a forked child that exits must not).
class TempDirs {
 public:
  ~TempDirs() {
    if (::getpid() != owner_ || std::getenv("SLMKIT_KEEP_TEST_DIRS") != nullptr) return;
    for (const auto& dir : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  void add(const std::filesystem::path& dir) { dirs_.push_back(dir); }

 private:
  pid_t owner_ = ::getpid();
  std::vector<std::filesystem::path> dirs_;
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("slmkit-test-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  temp_dirs().add(dir);
  return dir;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::string s = read_text(path);
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::filesystem::path cli_path() {
  return SLMKIT_CLI_PATH;
}

int run_command(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace slmkit::testing
