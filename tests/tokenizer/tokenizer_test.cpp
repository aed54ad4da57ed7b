// Encode/decode behaviour: BOS/EOS policy, special-token parsing, exact round trips, the streaming
// decoder, end-of-generation ids, and the CLI.
#include <gtest/gtest.h>

#include <thread>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "vectors.h"

namespace slmkit {
namespace {

Tokenizer load(const std::string& name) {
  return Tokenizer(gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name))));
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(Tokenizer, SentencePieceAddsBosByPolicy) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer tok = load("llama-spm");
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  // "▁Hello" (15043) "▁world" (3186), llama.cpp's own test ids.
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(tok.encode("Hello world", false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(tok.encode(""), (std::vector<int32_t>{1}));
  EXPECT_TRUE(tok.encode("", false).empty());
}

TEST(Tokenizer, ByteLevelBpeAddsNothingWithoutPolicy) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer tok = load("gpt-2");
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(Tokenizer, ParseSpecialTurnsSpecialTextIntoItsToken) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer gpt2 = load("gpt-2");
  const std::string text = "a<|endoftext|>b";
  EXPECT_EQ(gpt2.encode(text, false, true), (std::vector<int32_t>{64, 50256, 65}));
  const auto plain = gpt2.encode(text, false, false);
  EXPECT_GT(plain.size(), 3u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);

  // SentencePiece: "<s>" parsed, and the text after a special token gets its prefix space.
  const Tokenizer spm = load("llama-spm");
  const auto ids = spm.encode("<s>Hello", false, true);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 15043);  // "▁Hello"
}

TEST(Tokenizer, UserDefinedTokensAreMatchedWithoutParseSpecial) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  // MPT's added tokens are runs of spaces: matched in raw text, as Hugging Face does.
  const Tokenizer mpt = load("mpt");
  const auto ids = mpt.encode("a    b", false, false);
  bool has_user_defined = false;
  for (int32_t id : ids) has_user_defined |= mpt.vocab().types[id] == TokenType::user_defined;
  EXPECT_TRUE(has_user_defined) << testing::describe(mpt, ids);
  EXPECT_EQ(mpt.decode(ids), "a    b");
}

TEST(Tokenizer, DecodeRoundTripsEveryVectorExactly) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  for (const char* name :
       {"gpt-2", "llama-spm", "llama-bpe", "qwen2", "phi-3", "starcoder", "falcon", "deepseek-llm",
        "deepseek-coder", "mpt", "refact", "command-r", "gemma-4"}) {
    const Tokenizer tok = load(name);
    for (const auto& c : testing::read_vectors(name)) {
      const auto ids = tok.encode(c.text, true, false);
      EXPECT_EQ(tok.decode(ids, true), c.text) << name << ": '" << testing::escape(c.text) << "'";
    }
  }
}

TEST(Tokenizer, DecodeRendersOrSkipsSpecialTokens) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer spm = load("llama-spm");
  const std::vector<int32_t> ids = {1, 15043, 3186, 2};
  EXPECT_EQ(spm.decode(ids, true), "Hello world");
  EXPECT_EQ(spm.decode(ids, false), "<s> Hello world</s>");
  EXPECT_EQ(spm.token_bytes(15043), " Hello");
  EXPECT_EQ(spm.token_bytes(3 + 0x41), "A");  // <0x41>
  const Tokenizer gpt2 = load("gpt-2");
  EXPECT_EQ(gpt2.token_bytes(995), " world");  // "Ġworld"
}

TEST(Tokenizer, EndOfGenerationIds) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer llama3 = load("llama-bpe");
  EXPECT_TRUE(llama3.is_end_of_generation(128001));  // <|end_of_text|>
  EXPECT_TRUE(llama3.is_end_of_generation(128009));  // <|eot_id|>
  EXPECT_FALSE(llama3.is_end_of_generation(128000));
  EXPECT_FALSE(llama3.is_end_of_generation(-1));
  EXPECT_FALSE(llama3.is_end_of_generation(1 << 30));
  const Tokenizer spm = load("llama-spm");
  EXPECT_TRUE(spm.is_end_of_generation(2));
  EXPECT_FALSE(spm.is_end_of_generation(1));
}

TEST(Tokenizer, EncodesConcurrentlyFromManyThreads) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  std::string text = testing::read_text(testing::fixture("text/wiki.test.raw"));
  text.resize(60000);
  for (const char* name : {"llama-bpe", "llama-spm", "gemma-4"}) {
    const Tokenizer tok = load(name);
    const auto expected = tok.encode(text);
    std::vector<std::vector<int32_t>> got(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < got.size(); ++t) {
      threads.emplace_back([&, t] {
        for (int rep = 0; rep < 3; ++rep) got[t] = tok.encode(text);
      });
    }
    for (auto& th : threads) th.join();
    for (const auto& g : got) EXPECT_EQ(g, expected) << name;
  }
}

TEST(StreamDecoder, NeverEmitsHalfACharacter) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const std::string text = "Emoji 🦙🚀 and 我想在 byte fallback ✅ end";
  for (const char* name : {"llama-spm", "gpt-2", "gemma-4"}) {
    const Tokenizer tok = load(name);
    const auto ids = tok.encode(text, true, false);
    StreamDecoder stream(tok);
    std::string joined;
    size_t pushes_with_nothing = 0;
    for (int32_t id : ids) {
      const std::string piece = stream.push(id);
      EXPECT_TRUE(valid_utf8(piece)) << name << ": half a character after id " << id;
      if (piece.empty()) ++pushes_with_nothing;
      joined += piece;
    }
    joined += stream.flush();
    EXPECT_EQ(joined, text) << name;
    // Byte-fallback or byte-level pieces of the emoji must have been held back at least once.
    EXPECT_GT(pushes_with_nothing, 0u) << name;
  }
}

TEST(StreamDecoder, FlushRepairsBytesThatNeverComplete) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer spm = load("llama-spm");
  StreamDecoder stream(spm);
  // <0xE6> <0x88> start a three-byte character that never completes.
  EXPECT_EQ(stream.push(3 + 0xE6), "");
  EXPECT_EQ(stream.push(3 + 0x88), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_THROW(stream.push(32000), Error);
}

TEST(TokenizeCommand, PrintsIdsAndPieces) {
  SLMKIT_REQUIRE_FIXTURES();
  const std::string cli = testing::cli_path().string();
  const std::string model = testing::fixture("tokenizers/gpt2/encoder.json").string();
  std::string out;
  ASSERT_EQ(testing::run_command(cli + " tokenize -m " + model + " -p 'Hello world' --ids", &out),
            0)
      << out;
  EXPECT_EQ(out, "15496 995\n");
  ASSERT_EQ(testing::run_command(cli + " tokenize -m " + model + " -p 'Hello world'", &out), 0);
  EXPECT_NE(out.find("15496 'Hello'"), std::string::npos) << out;
  EXPECT_NE(out.find("2 tokens from 11 bytes"), std::string::npos) << out;

  const std::string spm = testing::fixture("tokenizers/llama2-spm/tokenizer.model").string();
  ASSERT_EQ(testing::run_command(cli + " tokenize -m " + spm + " -p 'Hello world' --ids", &out), 0);
  EXPECT_EQ(out, "1 15043 3186\n");
  ASSERT_EQ(testing::run_command(
                cli + " tokenize -m " + spm + " -p 'Hello world' --ids --no-special", &out),
            0);
  EXPECT_EQ(out, "15043 3186\n");

  const auto dir = testing::temp_dir("tokenize_cli");
  testing::write_bytes(dir / "in.txt", {std::byte{'H'}, std::byte{'i'}});
  ASSERT_EQ(testing::run_command(
                cli + " tokenize -m " + spm + " -f " + (dir / "in.txt").string() + " --ids", &out),
            0);
  EXPECT_EQ(out, "1 6324\n");  // "▁Hi"

  // Errors: one line, exit status 2.
  EXPECT_EQ(testing::run_command(cli + " tokenize -m /nonexistent -p x 2>&1", &out), 2);
  EXPECT_NE(out.find("/nonexistent"), std::string::npos) << out;
  EXPECT_EQ(testing::run_command(cli + " tokenize -m " + spm + " 2>&1", &out), 2);
}

}  // namespace
}  // namespace slmkit
