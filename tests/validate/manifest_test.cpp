// Manifests and checksums: what describe_artifact reads, checksums.txt accepted by the real
// sha256sum, and verify catching a one-byte change in any file of an artifact.
#include <gtest/gtest.h>

#include <fstream>

#include "slmkit/error.h"
#include "slmkit/export_onnx.h"
#include "slmkit/manifest.h"
#include "slmkit/model.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using slmkit::testing::run_command;

TEST(Manifest, Sha256OfKnownInputs) {
  const fs::path dir = slmkit::testing::temp_dir("sha256");
  std::ofstream(dir / "abc") << "abc";
  std::ofstream(dir / "empty");
  // FIPS 180-2 test vector and the empty message.
  EXPECT_EQ(sha256_file(dir / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_file(dir / "empty"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THROW(sha256_file(dir / "absent"), Error);
}

// ROOT/{stories260K.gguf, onnx/...} with manifests in ROOT/manifests.
struct Deployment {
  fs::path root;
  std::vector<Manifest> manifests;
};

Deployment make_deployment(const std::string& name) {
  Deployment d;
  d.root = slmkit::testing::temp_dir(name);
  const fs::path gguf = slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf");
  fs::copy_file(gguf, d.root / "stories260K.gguf");
  OnnxExportOptions o;
  o.variants = {OnnxVariant::plain, OnnxVariant::with_past};
  o.external_data_min_bytes = 4096;  // so the folder has external data files too
  export_onnx(load_model(gguf), d.root / "stories260K_onnx", o);
  d.manifests.push_back(describe_artifact(d.root / "stories260K.gguf", d.root));
  d.manifests.push_back(describe_artifact(d.root / "stories260K_onnx", d.root));
  for (const Manifest& m : d.manifests) write_manifest(m, d.root / "manifests");
  write_checksums(d.manifests, d.root / "manifests");
  return d;
}

TEST(Manifest, DescribesGgufAndOnnx) {
  SLMKIT_REQUIRE_FIXTURES();
  const Deployment d = make_deployment("manifest_describe");
  const Manifest& g = d.manifests[0];
  EXPECT_EQ(g.format, "gguf");
  EXPECT_EQ(g.quantization, "F32");
  EXPECT_EQ(g.architecture, "llama");
  // Its general.name is "llama", only the architecture: the file's name is the one users know.
  EXPECT_EQ(g.model_name, "stories260K");
  EXPECT_EQ(g.parameters, 260032u);  // stories260K.md
  EXPECT_EQ(g.vocab_size, 512);
  EXPECT_EQ(g.embedding_dim, 64);
  EXPECT_EQ(g.num_layers, 5);
  EXPECT_EQ(g.num_heads, 8);
  ASSERT_EQ(g.files.size(), 1u);
  EXPECT_EQ(g.files[0].role, "model");
  EXPECT_EQ(g.files[0].path, "stories260K.gguf");
  EXPECT_EQ(g.size_bytes, fs::file_size(d.root / "stories260K.gguf"));
  EXPECT_EQ(g.checksum, "sha256:" + sha256_file(d.root / "stories260K.gguf"));
  EXPECT_EQ(g.created.size(), 20u);  // 2026-01-01T00:00:00Z

  const Manifest& o = d.manifests[1];
  EXPECT_EQ(o.format, "onnx");
  EXPECT_EQ(o.quantization, "fp32");
  EXPECT_EQ(o.num_layers, 5);
  std::map<std::string, fs::path> roles;
  uint64_t total = 0;
  for (const ManifestFile& f : o.files) {
    roles[f.role] = f.path;
    total += f.size_bytes;
  }
  EXPECT_EQ(roles["model"], "stories260K_onnx/onnx/model.onnx");
  EXPECT_EQ(roles["graph:decoder_model"], "stories260K_onnx/onnx/decoder_model.onnx");
  EXPECT_EQ(roles["external_data:model"], "stories260K_onnx/onnx/model.onnx_data");
  EXPECT_EQ(roles["config"], "stories260K_onnx/config.json");
  EXPECT_EQ(o.size_bytes, total);

  // The JSON has the fields, files keyed by role, and reads back the same.
  const auto j = nlohmann::ordered_json::parse(
      slmkit::testing::read_text(d.root / "manifests/stories260K_onnx.json"));
  for (const char* k :
       {"model_name", "version", "format", "quantization", "architecture", "parameters",
        "vocab_size", "context_length", "embedding_dim", "num_layers", "num_heads", "size_bytes",
        "checksum", "created", "target_architectures", "performance", "files"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["files"]["model"]["sha256"], sha256_file(d.root / roles["model"]));
  EXPECT_EQ(Manifest::from_json(j).to_json(), j);
  nlohmann::ordered_json bad = j;
  bad["checksum"] = "md5:00";
  EXPECT_THROW(Manifest::from_json(bad), Error);
}

TEST(Manifest, ChecksumsAcceptedBySha256sum) {
  SLMKIT_REQUIRE_FIXTURES();
  const Deployment d = make_deployment("manifest_sha256sum");
  std::string out;
  const int rc = run_command(
      "cd '" + d.root.string() + "' && sha256sum --strict -c manifests/checksums.txt", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("stories260K.gguf: OK"), std::string::npos) << out;
  EXPECT_NE(out.find("stories260K_onnx/onnx/model.onnx_data: OK"), std::string::npos) << out;
  EXPECT_TRUE(verify_manifest(d.root / "manifests/checksums.txt").empty());
  EXPECT_TRUE(verify_manifest(d.root / "manifests/stories260K.json").empty());
}

// A one-byte change (size unchanged) in each file in turn is caught by the manifest and by
// checksums.txt, and names that file alone.
TEST(Manifest, VerifyCatchesAOneByteChangeInEveryFile) {
  SLMKIT_REQUIRE_FIXTURES();
  const Deployment d = make_deployment("manifest_flip");
  for (const Manifest& m : d.manifests) {
    const fs::path json = d.root / "manifests" / (m.artifact.stem().string() + ".json");
    for (const ManifestFile& f : m.files) {
      const fs::path p = d.root / f.path;
      std::fstream io(p, std::ios::in | std::ios::out | std::ios::binary);
      const auto at = static_cast<std::streamoff>(f.size_bytes / 2);
      io.seekg(at);
      const char c = static_cast<char>(io.get());
      io.seekp(at);
      io.put(static_cast<char>(c ^ 1));
      io.close();
      for (const fs::path& list : {json, d.root / "manifests/checksums.txt"}) {
        const auto problems = verify_manifest(list);
        ASSERT_EQ(problems.size(), 1u) << f.path << " via " << list;
        EXPECT_EQ(problems[0].path, f.path);
        EXPECT_TRUE(problems[0].what.starts_with("sha256 ")) << problems[0].what;
      }
      io.open(p, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(at);
      io.put(c);
    }
    EXPECT_TRUE(verify_manifest(json).empty());
  }
}

TEST(Manifest, VerifyNamesMissingAndResizedFilesAndTheCliFails) {
  SLMKIT_REQUIRE_FIXTURES();
  const Deployment d = make_deployment("manifest_missing");
  fs::remove(d.root / "stories260K_onnx/config.json");
  std::ofstream(d.root / "stories260K_onnx/onnx/model.onnx", std::ios::app) << "x";
  const auto problems = verify_manifest(d.root / "manifests/stories260K_onnx.json");
  ASSERT_EQ(problems.size(), 2u);
  std::map<fs::path, std::string> by_path;
  for (const auto& p : problems) by_path[p.path] = p.what;
  EXPECT_EQ(by_path["stories260K_onnx/config.json"], "missing");
  const uint64_t size = fs::file_size(d.root / "stories260K_onnx/onnx/model.onnx");
  EXPECT_EQ(by_path["stories260K_onnx/onnx/model.onnx"],
            "size " + std::to_string(size) + " != " + std::to_string(size - 1));

  std::string out;
  const int rc = run_command(slmkit::testing::cli_path().string() + " verify '" +
                                 (d.root / "manifests/checksums.txt").string() + "'",
                             &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("stories260K_onnx/config.json: missing"), std::string::npos) << out;
  EXPECT_NE(out.find("stories260K_onnx/onnx/model.onnx: sha256 "), std::string::npos) << out;
  EXPECT_EQ(out.find("stories260K.gguf"), std::string::npos) << out;

  std::ofstream(d.root / "manifests/bad.txt") << "not a checksum line\n";
  EXPECT_THROW(verify_manifest(d.root / "manifests/bad.txt"), Error);
}

TEST(Manifest, CliWritesManifestsAndChecksums) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path root = slmkit::testing::temp_dir("manifest_cli");
  fs::copy_file(slmkit::testing::fixture("models/gguf-stories260K/stories260K.gguf"),
                root / "a.gguf");
  std::string out;
  const std::string cli = slmkit::testing::cli_path().string();
  ASSERT_EQ(
      run_command("cd '" + root.string() + "' && " + cli + " manifest a.gguf -o manifests", &out),
      0)
      << out;
  EXPECT_TRUE(fs::exists(root / "manifests/a.json"));
  EXPECT_EQ(slmkit::testing::read_text(root / "manifests/checksums.txt"),
            sha256_file(root / "a.gguf") + "  a.gguf\n");
  EXPECT_EQ(run_command(cli + " verify '" + (root / "manifests/a.json").string() + "'", &out), 0)
      << out;
  auto name_of = [&] {
    return nlohmann::json::parse(slmkit::testing::read_text(root / "manifests/a.json"))
        .at("model_name")
        .get<std::string>();
  };
  EXPECT_EQ(name_of(), "a");
  ASSERT_EQ(run_command("cd '" + root.string() + "' && " + cli +
                            " manifest a.gguf -o manifests --name stories260K",
                        &out),
            0)
      << out;
  EXPECT_EQ(name_of(), "stories260K");
}

TEST(Manifest, RecognizableName) {
  EXPECT_EQ(recognizable_model_name("llama", "llama", "stories260K"), "stories260K");
  EXPECT_EQ(recognizable_model_name("LLaMA", "llama", "stories260K"), "stories260K");
  EXPECT_EQ(recognizable_model_name("", "gpt2", "x"), "x");
  EXPECT_EQ(recognizable_model_name("TinyLlama 1.1B", "llama", "x"), "TinyLlama 1.1B");
}

}  // namespace
}  // namespace slmkit
