// Paths must resolve, after symlinks and "..", inside a root.
#include "mcp/path_policy.h"

#include <fstream>

#include <gtest/gtest.h>

#include "slmkit/error.h"
#include "support/fixtures.h"

namespace slmkit::mcp {
namespace {
namespace fs = std::filesystem;

struct Tree {
  fs::path base, root, outside;
  Tree() {
    base = fs::canonical(slmkit::testing::temp_dir("mcp-paths"));
    root = base / "root";
    outside = base / "outside";
    fs::create_directories(root / "models");
    fs::create_directories(outside);
    std::ofstream(root / "models" / "m.gguf") << "GGUF";
    std::ofstream(outside / "secret.gguf") << "GGUF";
    fs::create_directory_symlink(outside, root / "escape");           // a folder link out
    fs::create_symlink(outside / "secret.gguf", root / "leak.gguf");  // a file link out
    fs::create_directory_symlink(root / "models", root / "alias");    // a link that stays in
  }
};

// The Error names the argument and the rule.
void expect_refused(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "not refused; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(PathPolicy, InsideTheRootIsAllowed) {
  const Tree t;
  const PathPolicy policy({t.root});
  EXPECT_EQ(policy.existing("model_path", "models/m.gguf"), t.root / "models" / "m.gguf");
  EXPECT_EQ(policy.existing("model_path", (t.root / "models/m.gguf").string()),
            t.root / "models" / "m.gguf");
  // ".." that stays inside, and a symlink whose target is inside.
  EXPECT_EQ(policy.existing("model_path", "models/../models/./m.gguf"),
            t.root / "models" / "m.gguf");
  EXPECT_EQ(policy.existing("model_path", "alias/m.gguf"), t.root / "models" / "m.gguf");
  EXPECT_EQ(policy.output("output_path", "new/dir/out.gguf"), t.root / "new" / "dir" / "out.gguf");
  EXPECT_EQ(policy.output("output_path", "out/"), t.root / "out");
}

TEST(PathPolicy, EscapesAreRefusedNamingTheRule) {
  const Tree t;
  const PathPolicy policy({t.root});
  const std::string rule = "outside the allowed roots";
  expect_refused([&] { policy.existing("model_path", "../outside/secret.gguf"); }, rule);
  expect_refused([&] { policy.existing("model_path", (t.outside / "secret.gguf").string()); },
                 "model_path: '" + (t.outside / "secret.gguf").string());
  expect_refused([&] { policy.existing("model_path", "leak.gguf"); }, rule);
  expect_refused([&] { policy.existing("model_path", "escape/secret.gguf"); }, rule);
  // Writing through a symlinked folder, to a file that does not exist yet.
  expect_refused([&] { policy.output("output_path", "escape/new.gguf"); }, rule);
  // ".." after a symlink is resolved as the kernel would: from the link's target.
  expect_refused([&] { policy.output("output_path", "escape/../x.gguf"); }, rule);
  expect_refused([&] { policy.output("output_path", "../../x.gguf"); }, rule);
  expect_refused([&] { policy.output("output_path", "/etc/passwd"); }, rule);
  expect_refused([&] { policy.existing("model_path", ""); }, "model_path: empty path");
  expect_refused([&] { policy.existing("model_path", std::string("a\0b", 3)); }, "NUL");
  expect_refused([&] { policy.existing("model_path", "models/none.gguf"); }, "does not exist");
}

TEST(PathPolicy, OutputsNeverReplaceARoot) {
  const Tree t;
  const PathPolicy policy({t.root, t.root / "models"});
  expect_refused([&] { policy.output("output_path", "."); }, "is or contains the root folder");
  expect_refused([&] { policy.output("output_path", t.root.string()); }, "is or contains");
  // The second root lies inside the first: writing over it is writing over a root.
  expect_refused([&] { policy.output("output_path", "models"); }, "is or contains");
  // Reading a root is fine.
  EXPECT_EQ(policy.existing("export_path", "."), t.root);
}

TEST(PathPolicy, SeveralRootsAndRelativePathsFromTheFirst) {
  const Tree t;
  const PathPolicy policy({t.root, t.outside});
  EXPECT_EQ(policy.existing("model_path", (t.outside / "secret.gguf").string()),
            t.outside / "secret.gguf");
  EXPECT_EQ(policy.existing("model_path", "leak.gguf"), t.outside / "secret.gguf");
  EXPECT_EQ(policy.output("output_path", "x.gguf"), t.root / "x.gguf");
}

TEST(PathPolicy, RootsMustBeFolders) {
  const Tree t;
  expect_refused([&] { PathPolicy({t.base / "missing"}); }, "not an existing folder");
  expect_refused([&] { PathPolicy({t.root / "models" / "m.gguf"}); }, "not an existing folder");
  // A root given through a symlink is the folder it names.
  const PathPolicy via_link({t.root / "alias"});
  EXPECT_EQ(via_link.roots().front(), t.root / "models");
}

}  // namespace
}  // namespace slmkit::mcp
