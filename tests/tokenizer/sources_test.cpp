// One tokenizer, whatever the source: Hugging Face files, SentencePiece models, GPT-2's original
// files and llama2.c's tokenizer.bin give the same ids as the GGUF vocabulary of the same
// family (llama.cpp's vectors where the ids line up, a multilingual text otherwise).
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "formats/llama2c.h"
#include "tokenizer/vocab_sources.h"
#include "vectors.h"

namespace slmkit {
namespace {

using testing::fixture;

// Scripts, digits, emoji, code and odd whitespace: what trips pre-tokenizers up.
const char* const kMultilingual =
    "The quick brown fox jumps over the lazy dog. It's 3.14159 o'clock; we'll see, they've "
    "gone!\n"
    "Fünf Ärzte aßen Käse. Ça coûte 12,50 € — très cher. ¿Dónde está la biblioteca?\n"
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Ελληνικά γράμματα.\n"
    "我想在apple工作1314151天～ 日本語のテキストとカタカナ。한국어 문장입니다.\n"
    "العربية تُكتب من اليمين. हिन्दी भाषा। ภาษาไทยไม่มีช่องว่าง\n"
    "Emoji: 🦙🚀 😶‍🌫️ ✅ 👍🏽 flags 🇩🇪\n"
    "    def f(x):\n\treturn x**2  # indent\r\n\n\n   trailing   \n"
    "1234567890 000 00 0 3333333 1,000,000 1.5e-10 0x1F";

void expect_same_ids(const Tokenizer& a, const Tokenizer& b, const std::string& text) {
  const auto ia = a.encode(text, false, false);
  const auto ib = b.encode(text, false, false);
  EXPECT_EQ(ia, ib) << "text '" << testing::escape(text) << "'\n  a: " << testing::describe(a, ia)
                    << "\n  b: " << testing::describe(b, ib);
}

Tokenizer gguf_tokenizer(const std::string& name) {
  return Tokenizer(gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name))));
}

void expect_vectors_pass(const Tokenizer& tok, const std::string& name) {
  std::string report;
  const auto cases = testing::read_vectors(name);
  const size_t failures = testing::count_mismatches(tok, cases, &report);
  EXPECT_EQ(failures, 0u) << failures << " of " << cases.size() << " " << name
                          << " strings differ; first:\n"
                          << report;
}

TEST(TokenizerSources, Gpt2OriginalFilesMatchGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Vocab files = read_vocab_and_merges(fixture("tokenizers/gpt2/encoder.json"),
                                            fixture("tokenizers/gpt2/vocab.bpe"));
  const Vocab gguf_vocab = gguf::read_vocab(gguf::read_file(testing::vocab_gguf("gpt-2")));
  EXPECT_EQ(files.tokens, gguf_vocab.tokens);
  EXPECT_EQ(files.merges, gguf_vocab.merges);
  EXPECT_EQ(files.types, gguf_vocab.types);
  EXPECT_EQ(files.bos_id, 50256);
  EXPECT_EQ(files.eos_id, 50256);
  expect_vectors_pass(Tokenizer(files), "gpt-2");
}

TEST(TokenizerSources, Gpt2HuggingFaceFolderMatchesGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const auto dir = fixture("models/hf-gpt2-tiny-random");
  const Tokenizer json(read_tokenizer_json(dir / "tokenizer.json"));
  const Tokenizer files(read_vocab_and_merges(dir / "vocab.json", dir / "merges.txt"));
  const Tokenizer folder = Tokenizer::from_path(dir);
  EXPECT_EQ(json.vocab().model, "gpt2");
  EXPECT_EQ(json.vocab().pre, "gpt-2");
  EXPECT_EQ(json.size(), 50257u);
  EXPECT_EQ(json.bos_id(), 50256);
  expect_vectors_pass(json, "gpt-2");
  expect_vectors_pass(files, "gpt-2");
  expect_vectors_pass(folder, "gpt-2");
  expect_same_ids(json, gguf_tokenizer("gpt-2"), kMultilingual);
}

TEST(TokenizerSources, Llama2SentencePieceModelMatchesGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Vocab model = read_sentencepiece_model(fixture("tokenizers/llama2-spm/tokenizer.model"));
  const Vocab gguf_vocab = gguf::read_vocab(gguf::read_file(testing::vocab_gguf("llama-spm")));
  EXPECT_EQ(model.model, "llama");
  EXPECT_EQ(model.tokens, gguf_vocab.tokens);
  EXPECT_EQ(model.scores, gguf_vocab.scores);
  EXPECT_EQ(model.types, gguf_vocab.types);
  EXPECT_EQ(model.bos_id, 1);
  EXPECT_EQ(model.eos_id, 2);
  EXPECT_EQ(model.unk_id, 0);
  const Tokenizer tok(model);
  expect_vectors_pass(tok, "llama-spm");
  expect_same_ids(tok, gguf_tokenizer("llama-spm"), kMultilingual);
  // The same 32,000-token vocabulary ships inside llama-2-tiny-random.gguf.
  const Tokenizer tiny =
      Tokenizer::from_path(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf"));
  expect_same_ids(tok, tiny, kMultilingual);
}

TEST(TokenizerSources, Llama3TokenizerJsonMatchesLlamaBpeGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer json = Tokenizer::from_path(fixture("tokenizers/hf/llama3/tokenizer.json"));
  EXPECT_EQ(json.vocab().model, "gpt2");
  EXPECT_EQ(json.vocab().pre, "llama-bpe");
  EXPECT_EQ(json.bos_id(), 128000);
  EXPECT_EQ(json.eos_id(), 128001);
  expect_vectors_pass(json, "llama-bpe");
  expect_same_ids(json, gguf_tokenizer("llama-bpe"), kMultilingual);
}

TEST(TokenizerSources, Qwen3TokenizerJsonMatchesQwen2Gguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer json = Tokenizer::from_path(fixture("tokenizers/hf/qwen3/tokenizer.json"));
  EXPECT_EQ(json.vocab().model, "gpt2");
  EXPECT_EQ(json.vocab().pre, "qwen2");
  expect_vectors_pass(json, "qwen2");
  expect_same_ids(json, gguf_tokenizer("qwen2"), kMultilingual);
}

TEST(TokenizerSources, Gemma3TokenizerJsonMatchesGemma4Gguf) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer json = Tokenizer::from_path(fixture("tokenizers/hf/gemma3/tokenizer.json"));
  EXPECT_EQ(json.vocab().model, "gemma4");
  EXPECT_EQ(json.bos_id(), 2);
  EXPECT_TRUE(json.vocab().add_bos.value_or(false));
  // Gemma 3 and Gemma 4 share the 262,144-token base vocabulary and its merges.
  expect_same_ids(json, gguf_tokenizer("gemma-4"), kMultilingual);
  expect_vectors_pass(json, "gemma-4");
  // BOS first, as both Gemma tokenizers add it.
  const auto ids = json.encode("Hello world");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 2);
}

TEST(TokenizerSources, Stories260KTokenizerBinMatchesItsGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  const Tokenizer bin(
      llama2c::read_tokenizer(fixture("models/llama2c-stories260K/tok512.bin"), 512));
  const Tokenizer gguf = Tokenizer::from_path(fixture("models/gguf-stories260K/stories260K.gguf"));
  EXPECT_EQ(bin.vocab().tokens, gguf.vocab().tokens);
  EXPECT_EQ(bin.size(), 512u);
  // A real story, a multilingual text (mostly byte fallback) and a greedy sample's prompt.
  std::string story = testing::read_text(fixture("text/tinystories_val_subset.txt"));
  story.resize(20000);
  expect_same_ids(bin, gguf, story);
  expect_same_ids(bin, gguf, kMultilingual);
  // And through from_path, which tells tokenizer.bin from a checkpoint by content.
  const Tokenizer by_path = Tokenizer::from_path(fixture("models/llama2c-stories260K/tok512.bin"));
  expect_same_ids(bin, by_path, story);
  EXPECT_EQ(gguf.encode("Once upon a time").front(), 1);  // BOS
  // A llama2.c checkpoint brings the tokenizer.bin beside it.
  const Tokenizer checkpoint =
      Tokenizer::from_path(fixture("models/llama2c-stories260K/stories260K.bin"));
  expect_same_ids(checkpoint, gguf, story);
}

}  // namespace
}  // namespace slmkit
