// `slmkit mcp` driven by a real MCP client: the official TypeScript SDK (npm
// @modelcontextprotocol/sdk, Client + StdioClientTransport) in tests/peers/mcp_client.mjs runs
// the five export tools on stories260K, the refusals, progress and a cancellation. Its
// transcript (every JSON-RPC message both ways) is kept where SLMKIT_MCP_TRANSCRIPT says.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using slmkit::testing::fixture;

fs::path peers_dir() {
  const char* env = std::getenv("SLMKIT_PEERS_DIR");
  return env ? fs::path(env) : slmkit::testing::source_dir() / "third_party/peers/node_modules";
}

TEST(McpSdkClient, FiveToolsRefusalsProgressAndCancellation) {
  SLMKIT_REQUIRE_FIXTURES();
  std::string out;
  if (slmkit::testing::run_command("node --version", &out) != 0) {
    GTEST_SKIP() << "node not found (scripts/setup.sh installs Node.js): " << out;
  }
  if (!fs::exists(peers_dir() / "@modelcontextprotocol/sdk/package.json")) {
    GTEST_SKIP() << "the MCP TypeScript SDK is not installed at "
                 << peers_dir() / "@modelcontextprotocol/sdk"
                 << " (scripts/setup.sh installs it)";
  }
  const fs::path base = slmkit::testing::temp_dir("mcp-sdk");
  const fs::path root = base / "root", outside = base / "outside";
  fs::create_directories(root);
  fs::create_directories(outside);
  fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), root / "stories260K.gguf");
  fs::copy_file(fixture("models/gguf-stories260K/stories260K.gguf"), outside / "stories260K.gguf");
  fs::create_directory_symlink(outside, root / "escape");
  const fs::path transcript = base / "transcript.jsonl";
  const std::string command =
      "node '" + (slmkit::testing::source_dir() / "tests/peers/mcp_client.mjs").string() + "' '" +
      slmkit::testing::cli_path().string() + "' '" + root.string() + "' '" + transcript.string() +
      "'";
  const int rc = slmkit::testing::run_command(command, &out);
  EXPECT_EQ(rc, 0) << out;
  std::printf("%s", out.c_str());
  // Nothing escaped the root: the folder outside holds only what the test put there.
  size_t n_outside = 0;
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(outside)) ++n_outside;
  EXPECT_EQ(n_outside, 1u);
  // SLMKIT_MCP_TRANSCRIPT=FILE keeps the transcript (docs/agents.md's example session).
  if (const char* keep = std::getenv("SLMKIT_MCP_TRANSCRIPT")) {
    fs::copy_file(transcript, keep, fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace slmkit
