#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "formats/safetensors.h"
#include "slmkit/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit::safetensors {
namespace {

namespace fs = std::filesystem;
using testing::fixture;

const char* kGpt2Dir = "models/hf-gpt2-tiny-random";
const char* kShard1 = "model-00001-of-00002.safetensors";
const char* kShard2 = "model-00002-of-00002.safetensors";

using testing::contains;
using testing::expect_error;

void expect_same_tensors(const Folder& a, const Folder& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i];
    const Tensor& y = b.tensors[i];
    EXPECT_EQ(x.name(), y.name());
    EXPECT_EQ(x.dtype(), y.dtype()) << x.name();
    EXPECT_EQ(x.shape(), y.shape()) << x.name();
    ASSERT_EQ(x.n_bytes(), y.n_bytes()) << x.name();
    EXPECT_TRUE(std::equal(x.bytes().begin(), x.bytes().end(), y.bytes().begin())) << x.name();
  }
}

// A copy of the GPT-2 fixture folder with its tensors split over two shards (the first 8 in
// data order, then the rest) and an index whose weight_map lists shard 2's tensors first.
struct ShardedCopy {
  fs::path dir;
  nlohmann::ordered_json index;

  explicit ShardedCopy(const std::string& name) : dir(testing::temp_dir(name)) {
    fs::copy_file(fixture(kGpt2Dir) / "config.json", dir / "config.json");
    const File f = read_file(fixture(kGpt2Dir) / "model.safetensors");
    std::vector<std::pair<std::string, Tensor>> first, second;
    for (size_t i = 0; i < f.entries.size(); ++i) {
      (i < 8 ? first : second).emplace_back(f.entries[i].name, f.tensor(f.entries[i]));
    }
    write_file(dir / kShard1, first, f.metadata);
    write_file(dir / kShard2, second, f.metadata);
    uint64_t total = 0;
    for (const Entry& e : f.entries) total += e.end - e.begin;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = nlohmann::ordered_json::object();
    for (const auto& [n, t] : second) index["weight_map"][n] = kShard2;
    for (const auto& [n, t] : first) index["weight_map"][n] = kShard1;
    write_index();
  }
  void write_index() const {
    write_file_atomic(dir / "model.safetensors.index.json", index.dump(2));
  }
};

TEST(SafetensorsFolder, ReadsGpt2Folder) {
  SLMKIT_REQUIRE_FIXTURES();
  const Folder f = read_folder(fixture(kGpt2Dir));
  EXPECT_EQ(f.config.at("model_type"), "gpt2");
  EXPECT_EQ(f.config.at("n_embd"), 16);
  EXPECT_EQ(f.config.at("vocab_size"), 50257);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(f.tensors.size(), 16u);
  EXPECT_EQ(f.tensors.front().name(), "transformer.h.0.attn.c_attn.bias");
  EXPECT_EQ(f.tensors.back().name(), "transformer.wte.weight");
  EXPECT_EQ(f.tensors.back().shape(), (Shape{50257, 16}));
}

TEST(SafetensorsFolder, ShardedFolderEqualsSingleFile) {
  SLMKIT_REQUIRE_FIXTURES();
  const Folder single = read_folder(fixture(kGpt2Dir));
  ShardedCopy copy("st-sharded");
  const Folder sharded = read_folder(copy.dir);
  EXPECT_EQ(sharded.config, single.config);
  EXPECT_EQ(sharded.metadata, single.metadata);
  expect_same_tensors(single, sharded);
  // One mapping per shard: tensors of a shard share it, the two shards do not.
  ASSERT_EQ(sharded.tensors.size(), 16u);
  EXPECT_EQ(sharded.tensors[0].owner(), sharded.tensors[7].owner());
  EXPECT_EQ(sharded.tensors[8].owner(), sharded.tensors[15].owner());
  EXPECT_NE(sharded.tensors[0].owner(), sharded.tensors[8].owner());
}

TEST(SafetensorsFolder, MissingShardIsNamed) {
  SLMKIT_REQUIRE_FIXTURES();
  ShardedCopy copy("st-missing-shard");
  fs::remove(copy.dir / kShard2);
  const Error e = expect_error([&] { read_folder(copy.dir); });
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  EXPECT_TRUE(contains(e, std::string("shard '") + kShard2 + "'")) << e.what();
  EXPECT_TRUE(contains(e, "is missing")) << e.what();
}

TEST(SafetensorsFolder, TensorMappedToTheWrongShard) {
  SLMKIT_REQUIRE_FIXTURES();
  ShardedCopy copy("st-wrong-shard");
  copy.index["weight_map"]["transformer.wte.weight"] = kShard1;
  copy.write_index();
  const Error e = expect_error([&] { read_folder(copy.dir); });
  EXPECT_TRUE(contains(e, "'transformer.wte.weight' is not in shard")) << e.what();
  EXPECT_TRUE(contains(e, kShard1)) << e.what();
}

TEST(SafetensorsFolder, TensorMissingFromTheWeightMap) {
  SLMKIT_REQUIRE_FIXTURES();
  ShardedCopy copy("st-unlisted");
  copy.index["weight_map"].erase("transformer.ln_f.bias");
  copy.write_index();
  const Error e = expect_error([&] { read_folder(copy.dir); });
  EXPECT_TRUE(contains(e, "'transformer.ln_f.bias' is not listed")) << e.what();
  EXPECT_TRUE(contains(e, kShard2)) << e.what();
}

TEST(SafetensorsFolder, ShardNamesMustBePlainFileNames) {
  SLMKIT_REQUIRE_FIXTURES();
  for (const char* bad : {"../model.safetensors", "/etc/passwd", "sub/x.safetensors", "", ".."}) {
    ShardedCopy copy("st-traversal");
    copy.index["weight_map"]["transformer.wte.weight"] = bad;
    copy.write_index();
    const Error e = expect_error([&] { read_folder(copy.dir); });
    EXPECT_TRUE(contains(e, "is not a plain file name")) << bad << ": " << e.what();
  }
  ShardedCopy copy("st-index-types");
  copy.index["weight_map"]["transformer.wte.weight"] = 3;
  copy.write_index();
  EXPECT_TRUE(contains(expect_error([&] { read_folder(copy.dir); }), "must be a file name"));
  copy.index.erase("weight_map");
  copy.write_index();
  EXPECT_TRUE(contains(expect_error([&] { read_folder(copy.dir); }), "missing 'weight_map'"));
  write_file_atomic(copy.dir / "model.safetensors.index.json", "{\"weight_map\": {");
  const Error e = expect_error([&] { read_folder(copy.dir); });
  EXPECT_TRUE(contains(e, "model.safetensors.index.json: malformed JSON near offset")) << e.what();
}

TEST(SafetensorsFolder, SingleFileIsPreferredOverAnIndex) {
  SLMKIT_REQUIRE_FIXTURES();
  ShardedCopy copy("st-prefer-single");
  fs::remove(copy.dir / kShard1);  // the index is now broken...
  fs::copy_file(fixture(kGpt2Dir) / "model.safetensors", copy.dir / "model.safetensors");
  const Folder f = read_folder(copy.dir);  // ...and never read
  EXPECT_EQ(f.tensors.size(), 16u);
}

TEST(SafetensorsFolder, ConfigAndWeightsAreRequired) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto dir = testing::temp_dir("st-folder-missing");
  Error e = expect_error([&] { read_folder(dir); });
  EXPECT_TRUE(contains(e, "config.json is missing")) << e.what();

  write_file_atomic(dir / "config.json", "{\"model_type\": \"gpt2\",}");
  e = expect_error([&] { read_folder(dir); });
  EXPECT_TRUE(contains(e, "config.json: malformed JSON near offset 22")) << e.what();

  write_file_atomic(dir / "config.json", "[1]");
  e = expect_error([&] { read_folder(dir); });
  EXPECT_TRUE(contains(e, "config.json: expected a JSON object, found array")) << e.what();

  write_file_atomic(dir / "config.json", "{}");
  e = expect_error([&] { read_folder(dir); });
  EXPECT_TRUE(contains(e, "holds neither model.safetensors nor")) << e.what();

  e = expect_error([&] { read_folder(dir / "nope"); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_TRUE(contains(e, "nope: not a directory")) << e.what();

  // A broken model.safetensors is reported with its own path.
  write_file_atomic(dir / "model.safetensors", "short");
  e = expect_error([&] { read_folder(dir); });
  EXPECT_TRUE(contains(e, (dir / "model.safetensors").string() + ": 5 bytes")) << e.what();
}

}  // namespace
}  // namespace slmkit::safetensors
