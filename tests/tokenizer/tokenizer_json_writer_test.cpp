// tokenizer.json written from a Vocab (for GGUF / llama2.c / tokenizer.model sources) reads back
// through our own tokenizer.json loader and encodes real text to exactly the ids of the
// original vocabulary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// Real text of several kinds: in-domain stories, Wikipedia markup with numbers and
// punctuation, verse with line breaks, and a line of non-ASCII, emoji, runs of spaces and tabs.
std::vector<std::string> sample_texts() {
  std::vector<std::string> texts;
  for (const char* f :
       {"text/tinystories_val_subset.txt", "text/wiki.test.raw", "text/tinyshakespeare.txt"}) {
    const std::string all = slmkit::testing::read_text(slmkit::testing::fixture(f));
    texts.push_back(all.substr(0, 6000));
    texts.push_back(all.substr(all.size() / 2, 3000));
  }
  texts.push_back(
      "  Héllo wörld!  Ünïcödé: 日本語のテキスト, 한국어, русский текст "
      "🤗🚀\t\ttabs\n\n"
      "numbers 1234567 3.14159 -42 1e10 don't it's we'll I'M   trailing   ");
  texts.push_back(" leading space");
  texts.push_back("");
  return texts;
}

void expect_round_trip(const Vocab& vocab, const std::string& name) {
  const Tokenizer original{Vocab(vocab)};
  const fs::path dir = slmkit::testing::temp_dir("tokjson_" + name);
  write_tokenizer_json_files(vocab, dir, 512);
  const Tokenizer written = Tokenizer::from_path(dir / "tokenizer.json");
  ASSERT_EQ(written.size(), original.size()) << name;
  EXPECT_EQ(written.bos_id(), original.bos_id()) << name;
  EXPECT_EQ(written.eos_id(), original.eos_id()) << name;
  size_t ids = 0;
  for (const std::string& text : sample_texts()) {
    const std::vector<int32_t> a = original.encode(text);
    ids += a.size();
    EXPECT_EQ(written.encode(text), a) << name << ": " << text.substr(0, 60);
    EXPECT_EQ(written.decode(a), original.decode(a)) << name;
  }
  // Special-token texts inside the input still map to the same ids when parsed as special.
  const std::string special =
      "a" + original.vocab().tokens[static_cast<size_t>(std::max(original.eos_id(), 0))] + "b";
  EXPECT_EQ(written.encode(special, true, true), original.encode(special, true, true)) << name;
  std::printf("%s: %zu tokens, %zu ids over the sample texts identical\n", name.c_str(),
              original.size(), ids);
}

Vocab vocab_of(const std::string& fixture) {
  return Tokenizer::from_path(slmkit::testing::fixture(fixture)).vocab();
}

TEST(TokenizerJsonWriter, Stories260KLlama2cAndGguf) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_round_trip(vocab_of("models/llama2c-stories260K/tok512.bin"), "tok512_llama2c");
  expect_round_trip(vocab_of("models/gguf-stories260K/stories260K.gguf"), "stories260K_gguf");
}

TEST(TokenizerJsonWriter, Gpt2ByteLevel) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_round_trip(vocab_of("tokenizers/gpt2/encoder.json"), "gpt2");
}

TEST(TokenizerJsonWriter, Llama2SentencePiece32k) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_round_trip(vocab_of("tokenizers/llama2-spm/tokenizer.model"), "llama2_spm");
  expect_round_trip(vocab_of("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf"),
                    "llama2_gguf");
}

// Large vocabularies (128k and 262k tokens): over a minute, so Slow. Qwen3 has Llama 3's layout
// (Split regex + ByteLevel) and is left out to save CI time.
TEST(TokenizerJsonWriter, SlowHuggingFaceFamilies) {
  SLMKIT_REQUIRE_FIXTURES();
  for (const char* f : {"llama3", "gemma3"}) {
    expect_round_trip(vocab_of(std::string("tokenizers/hf/") + f + "/tokenizer.json"), f);
  }
}

// The layout transformers writes for a Llama SentencePiece vocabulary.
TEST(TokenizerJsonWriter, LlamaLayoutAsTransformersWritesIt) {
  SLMKIT_REQUIRE_FIXTURES();
  const Vocab v = vocab_of("models/gguf-stories260K/stories260K.gguf");
  const auto j = nlohmann::json::parse(tokenizer_json_from_vocab(v));
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["model"]["byte_fallback"], true);
  EXPECT_EQ(j["model"]["unk_token"], "<unk>");
  EXPECT_EQ(j["normalizer"]["normalizers"][0]["type"], "Prepend");
  EXPECT_EQ(j["post_processor"]["single"][0]["SpecialToken"]["id"], "<s>");
  EXPECT_EQ(j["model"]["vocab"]["<0x0A>"], 13);
  EXPECT_EQ(j["added_tokens"].size(), 3u);  // <unk>, <s>, </s>
  const auto c = nlohmann::json::parse(tokenizer_config_from_vocab(v, 512));
  EXPECT_EQ(c["add_bos_token"], true);
  EXPECT_EQ(c["eos_token"], "</s>");
  EXPECT_EQ(c["model_max_length"], 512);
}

}  // namespace
}  // namespace slmkit

namespace slmkit {
namespace {

// A vocabulary kind tokenizer.json cannot express is Error(unsupported), which the Hugging Face
// writer takes as "write no tokenizer.json" (src/formats/hf_model.cpp).
TEST(TokenizerJsonWriter, UnsupportedModelNamesWhatIsSupported) {
  Vocab v;
  v.model = "bert";
  v.tokens = {"[PAD]", "[UNK]", "a"};
  try {
    tokenizer_json_from_vocab(v);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("supported: llama, gpt2, gemma4"), std::string::npos);
  }
}

}  // namespace
}  // namespace slmkit
