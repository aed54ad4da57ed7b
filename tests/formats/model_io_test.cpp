// Every reader produces the same neutral model: fixtures read through different formats agree.
#include <gtest/gtest.h>

#include <cstring>

#include "formats/model_io.h"
#include "formats/tensor_transforms.h"
#include "slmkit/error.h"
#include "slmkit/model.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::fixture;

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.n_bytes() == b.n_bytes() &&
         std::memcmp(a.data(), b.data(), a.n_bytes()) == 0;
}

// Every tensor of `a` is in `b` with identical type, shape and bytes.
void expect_tensors_contained(const Model& a, const Model& b) {
  for (const Tensor& t : a.tensors()) {
    const Tensor* u = b.find(t.name());
    ASSERT_NE(u, nullptr) << t.name() << " missing";
    EXPECT_TRUE(same_bytes(t, *u)) << t.name() << " differs";
  }
}

TEST(ModelIo, Stories260KCheckpointAndGgufAreTheSameModel) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model bin = load_model(fixture("models/llama2c-stories260K/stories260K.bin"));
  const Model gguf = load_model(fixture("models/gguf-stories260K/stories260K.gguf"));
  EXPECT_EQ(bin.source.format, "llama2c");
  EXPECT_EQ(gguf.source.format, "gguf");
  expect_tensors_contained(bin, gguf);
  // The GGUF's only extra tensor is a stored copy of the shared classifier.
  EXPECT_EQ(gguf.tensors().size(), bin.tensors().size() + 1);
  EXPECT_TRUE(
      same_bytes(gguf.get("output.weight").reshaped({512, 64}), bin.get("token_embd.weight")));
  EXPECT_EQ(bin.n_parameters(), 260032);
  EXPECT_EQ(gguf.n_parameters(), 260032);
  EXPECT_EQ(gguf.n_stored_elements(), 260032 + 512 * 64);
  for (const Model* m : {&bin, &gguf}) {
    const ModelConfig& c = m->config;
    EXPECT_EQ(c.arch, "llama");
    EXPECT_EQ(c.n_embd, 64);
    EXPECT_EQ(c.n_ff, 172);
    EXPECT_EQ(c.n_layer, 5);
    EXPECT_EQ(c.n_head, 8);
    EXPECT_EQ(c.n_head_kv, 4);
    EXPECT_EQ(c.vocab_size, 512);
    // llama.cpp's converter wrote 2048 into the GGUF; the checkpoint's header says 512.
    EXPECT_EQ(c.context_length, m == &bin ? 512 : 2048);
    EXPECT_EQ(c.rope.style, RopeStyle::normal);
    EXPECT_EQ(m->vocab.size(), 512u);
  }
}

TEST(ModelIo, Stories3MCheckpointAndGgufAreTheSameModel) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model bin =
      load_model(fixture("models/stories3M/stories3M.bin"),
                 {.llama2c_tokenizer = fixture("models/llama2c-stories260K/tok512.bin")});
  const Model gguf = load_model(fixture("models/stories3M/stories3M.gguf"));
  expect_tensors_contained(bin, gguf);
  EXPECT_EQ(bin.tensors().size(), gguf.tensors().size());
  EXPECT_FALSE(bin.config.tied_embeddings);
  EXPECT_EQ(bin.n_parameters(), 3410176);
  EXPECT_EQ(gguf.n_parameters(), 3410176);
  EXPECT_EQ(gguf.config.n_embd, 256);
  EXPECT_EQ(gguf.config.n_ff, 768);
}

TEST(ModelIo, HuggingFaceGpt2Folder) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = load_model(fixture("models/hf-gpt2-tiny-random"));
  EXPECT_EQ(m.source.format, "hf");
  EXPECT_EQ(m.config.arch, "gpt2");
  EXPECT_EQ(m.config.n_embd, 16);
  EXPECT_EQ(m.config.n_layer, 1);
  EXPECT_EQ(m.config.n_ff, 64);  // n_inner null: 4 x n_embd
  EXPECT_EQ(m.config.context_length, 256);
  EXPECT_TRUE(m.config.tied_embeddings);
  EXPECT_EQ(m.n_parameters(), 811520);  // the safetensors header's shapes, summed
  // Conv1D [in, out] weights arrive as [out, in].
  EXPECT_EQ(m.get("blk.0.attn_qkv.weight").shape(), (Shape{48, 16}));
  EXPECT_EQ(m.get("blk.0.ffn_down.weight").shape(), (Shape{16, 64}));
  EXPECT_EQ(m.config.bos_id, 50256);
}

TEST(ModelIo, TinyRandomLlamaGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = load_model(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf"));
  EXPECT_EQ(m.config.arch, "llama");
  EXPECT_EQ(m.config.n_embd, 8);
  EXPECT_EQ(m.config.n_ff, 32);
  EXPECT_EQ(m.config.n_layer, 1);
  EXPECT_EQ(m.config.n_head, 2);
  EXPECT_EQ(m.vocab.size(), 32000u);
  EXPECT_EQ(m.get("blk.0.attn_q.weight").dtype(), DType::F16);
}

// GGUF -> neutral -> GGUF keeps every tensor's bytes; through a Hugging Face folder the RoPE
// row permutation is applied and undone, so the bytes survive that trip as well.
TEST(ModelIo, RoundTripsThroughEveryWriter) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model original = load_model(fixture("models/gguf-stories260K/stories260K.gguf"));
  const auto dir = testing::temp_dir("model-io-roundtrip");
  save_model(original, dir / "copy.gguf", ModelFormat::gguf);
  save_model(original, dir / "hf", ModelFormat::hf);
  const Model from_gguf = load_model(dir / "copy.gguf");
  const Model from_hf = load_model(dir / "hf");
  EXPECT_EQ(from_hf.config.rope.style, RopeStyle::neox);
  Model hf_as_gguf = from_hf;
  convert_conventions(hf_as_gguf, RopeStyle::normal, 0.0f);
  expect_tensors_contained(original, from_gguf);
  for (const Tensor& t : hf_as_gguf.tensors()) {
    ASSERT_NE(original.find(t.name()), nullptr) << t.name();
    EXPECT_TRUE(same_bytes(t, original.get(t.name()))) << t.name();
  }
  EXPECT_EQ(from_hf.n_parameters(), 260032);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  }
}

TEST(ModelIo, UnknownFilesGetOneClearError) {
  const auto dir = testing::temp_dir("model-io-bad");
  testing::write_bytes(dir / "notes.txt", std::vector<std::byte>(100, std::byte{'x'}));
  try {
    load_model(dir / "notes.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("notes.txt: not a GGUF file"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_model(dir / "missing.gguf"), Error);
}

}  // namespace
}  // namespace slmkit
