#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "formats/llama2c.h"
#include "slmkit/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit::llama2c {
namespace {

using testing::fixture;

const char* kTok512 = "models/llama2c-stories260K/tok512.bin";
const char* kLlama2 = "tokenizers/llama2-spm/tokenizer.llama2c.bin";

using testing::contains;
using testing::expect_error;

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// FNV-1a 64 over (uint32 length, text, f32 score, int32 type) of every token. The expected
// values were computed by a Python struct-module script from tokenizer.ggml.{tokens,scores,
// token_type} of stories260K.gguf (written by llama.cpp's convert-llama2c-to-ggml) and of
// llama-2-tiny-random.gguf (written by llama.cpp's HF converter from the same 32,000 pieces).
uint64_t fingerprint(const Vocab& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto len = static_cast<uint32_t>(v.tokens[i].size());
    const auto type = static_cast<int32_t>(v.types[i]);
    h = fnv1a(h, &len, 4);
    h = fnv1a(h, v.tokens[i].data(), len);
    h = fnv1a(h, &v.scores[i], 4);
    h = fnv1a(h, &type, 4);
  }
  return h;
}

constexpr uint64_t kStories260KGgufVocab = 0xde5e02fbf4d19394ull;
constexpr uint64_t kLlama2GgufVocab = 0xe716dd364049faf0ull;

// A tokenizer.bin holding `tokens` with scores -0, -1, -2, ...
std::vector<std::byte> tokenizer_bytes(const std::vector<std::string>& tokens,
                                       int32_t max_len = 16) {
  std::vector<std::byte> out;
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  put(&max_len, 4);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const float score = -static_cast<float>(i);
    const auto len = static_cast<int32_t>(tokens[i].size());
    put(&score, 4);
    put(&len, 4);
    put(tokens[i].data(), tokens[i].size());
  }
  return out;
}

void put_i32(std::vector<std::byte>& b, size_t at, int32_t v) {
  std::memcpy(b.data() + at, &v, 4);
}

// ---------------------------------------------------------------------------------------------

TEST(Llama2cTokenizer, Tok512EqualsTheConvertedGgufVocab) {
  SLMKIT_REQUIRE_FIXTURES();
  const Vocab v = read_tokenizer(fixture(kTok512), 512);
  ASSERT_EQ(v.size(), 512u);
  ASSERT_EQ(v.scores.size(), 512u);
  ASSERT_EQ(v.types.size(), 512u);
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.pre, "");  // the converter writes no tokenizer.ggml.pre
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.pad_id, -1);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "<s>");  // "\n<s>\n" in the file
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.tokens[258], "<0xFF>");
  EXPECT_EQ(v.tokens[259], "\xe2\x96\x81t");  // " t"
  EXPECT_EQ(v.tokens[260], "he");
  EXPECT_EQ(v.tokens[261], "\xe2\x96\x81\x61");
  EXPECT_EQ(v.tokens[300], "\xe2\x96\x81ha");
  EXPECT_EQ(v.tokens[400], "\xe2\x96\x81\x64o");
  EXPECT_EQ(v.tokens[511], "\xe2\x80\x8a");  // U+200A HAIR SPACE, not a space: unescaped
  EXPECT_EQ(v.types[0], TokenType::unknown);
  EXPECT_EQ(v.types[1], TokenType::control);
  EXPECT_EQ(v.types[2], TokenType::control);
  EXPECT_EQ(v.types[3], TokenType::byte);
  EXPECT_EQ(v.types[259], TokenType::normal);
  int counts[7] = {};
  int with_space = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    ++counts[static_cast<int>(v.types[i])];
    if (v.tokens[i].find("\xe2\x96\x81") != std::string::npos) ++with_space;
    // Scores: 0 for the specials and bytes, then 259 - id (token 259 holds -0.0).
    const float expected = i < 259 ? 0.0f : static_cast<float>(259 - static_cast<int>(i));
    EXPECT_EQ(v.scores[i], expected) << i;
  }
  EXPECT_TRUE(std::signbit(v.scores[259]));
  EXPECT_EQ(counts[static_cast<int>(TokenType::byte)], 256);
  EXPECT_EQ(counts[static_cast<int>(TokenType::normal)], 253);
  EXPECT_EQ(counts[static_cast<int>(TokenType::control)], 2);
  EXPECT_EQ(counts[static_cast<int>(TokenType::unknown)], 1);
  EXPECT_EQ(with_space, 91);
  EXPECT_EQ(fingerprint(v), kStories260KGgufVocab);
}

TEST(Llama2cTokenizer, Llama2VocabEqualsTheGgufVocab) {
  SLMKIT_REQUIRE_FIXTURES();
  const Vocab v = read_tokenizer(fixture(kLlama2), 32000);
  ASSERT_EQ(v.size(), 32000u);
  EXPECT_EQ(v.tokens[13], "<0x0A>");
  EXPECT_EQ(v.types[13], TokenType::byte);
  EXPECT_EQ(v.tokens[29871], "\xe2\x96\x81");  // a lone " "
  EXPECT_EQ(v.scores[29871], -1e9f);
  EXPECT_EQ(v.types[29871], TokenType::normal);
  EXPECT_EQ(v.tokens[31999], "\xe7\xbb\x99");
  EXPECT_EQ(v.scores[31999], -31740.0f);
  EXPECT_EQ(fingerprint(v), kLlama2GgufVocab);
}

TEST(Llama2cTokenizer, WithoutAModelEveryTokenIsRead) {
  SLMKIT_REQUIRE_FIXTURES();
  EXPECT_EQ(fingerprint(read_tokenizer(fixture(kTok512), 0)), kStories260KGgufVocab);
  EXPECT_EQ(read_tokenizer(fixture(kLlama2), -1).size(), 32000u);
}

TEST(Llama2cTokenizer, VocabSizeMustMatchTheModel) {
  SLMKIT_REQUIRE_FIXTURES();
  Error e = expect_error([] { read_tokenizer(fixture(kTok512), 511); });
  EXPECT_TRUE(contains(e,
                       "tok512.bin: at offset 6216: 11 bytes follow the last of the model's 511 "
                       "tokens"))
      << e.what();
  e = expect_error([] { read_tokenizer(fixture(kTok512), 513); });
  EXPECT_TRUE(contains(e, "tok512.bin: at offset 6227: token 512: truncated")) << e.what();
  // A count the file cannot hold is refused before anything is allocated for it.
  e = expect_error([] { read_tokenizer(fixture(kTok512), int64_t{1} << 40); });
  EXPECT_TRUE(contains(e, "1099511627776 tokens need at least 8796093022208 bytes")) << e.what();
}

TEST(Llama2cTokenizer, ConverterSpellingAndTypes) {
  // Ids 0-2 are renamed whatever the file says; the rest follow the converter's rules.
  const std::vector<std::string> raw = {
      "x",
      "y",
      "z",  // -> <unk> <s> </s>
      "",   // empty: control
      "<0x41>",
      "<0x4",
      "<0x G",
      "<0x +1>",  // sscanf-style byte detection
      "<0xZZ>",
      "<0x",  // not bytes
      "a b  c",
      " ",  // spaces -> U+2581
      std::string("p\0q", 3),
      std::string(1, '\0'),  // text ends at the first NUL
      "\xe2\x96\x81"
      "already",
  };
  const Vocab v = parse_tokenizer(tokenizer_bytes(raw), static_cast<int64_t>(raw.size()), "t.bin");
  const std::vector<std::string> tokens = {"<unk>",
                                           "<s>",
                                           "</s>",
                                           "",
                                           "<0x41>",
                                           "<0x4",
                                           "<0x\xe2\x96\x81G",
                                           "<0x\xe2\x96\x81+1>",
                                           "<0xZZ>",
                                           "<0x",
                                           "a\xe2\x96\x81\x62\xe2\x96\x81\xe2\x96\x81\x63",
                                           "\xe2\x96\x81",
                                           "p",
                                           "",
                                           "\xe2\x96\x81\x61lready"};
  EXPECT_EQ(v.tokens, tokens);
  using T = TokenType;
  const std::vector<TokenType> types = {T::unknown, T::control, T::control, T::control, T::byte,
                                        T::byte,    T::normal,  T::byte,    T::normal,  T::normal,
                                        T::normal,  T::normal,  T::normal,  T::normal,  T::normal};
  EXPECT_EQ(v.types, types);
  EXPECT_EQ(v.scores[5], -5.0f);

  // Tiny vocabularies have no BOS/EOS.
  const Vocab one = parse_tokenizer(tokenizer_bytes({"a"}), 1, "one.bin");
  EXPECT_EQ(one.tokens, std::vector<std::string>{"<unk>"});
  EXPECT_EQ(one.bos_id, -1);
  EXPECT_EQ(one.eos_id, -1);
}

TEST(Llama2cTokenizer, HostileValues) {
  auto bytes = tokenizer_bytes({"a", "b", "c", "d"});
  // Layout: max_len @0, then per token score @+0, length @+4, 1 byte: token 3's length @35.
  {
    auto b = bytes;
    put_i32(b, 0, -1);
    const Error e = expect_error([&] { parse_tokenizer(b, 4, "t.bin"); });
    EXPECT_TRUE(contains(e, "t.bin: max_token_length at offset 0 is -1")) << e.what();
  }
  for (int32_t len : {-1, INT32_MIN, 2, 1 << 30, INT32_MAX}) {
    auto b = bytes;
    put_i32(b, 35, len);
    const Error e = expect_error([&] { parse_tokenizer(b, 4, "t.bin"); });
    EXPECT_TRUE(contains(e, "t.bin: token 3: length " + std::to_string(len) + " at offset 35"))
        << e.what();
  }
  const Error none = expect_error([] { parse_tokenizer(tokenizer_bytes({}), 0, "empty.bin"); });
  EXPECT_TRUE(contains(none, "empty.bin: holds no tokens")) << none.what();
}

TEST(Llama2cTokenizer, EveryTruncationIsAnError) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto whole = testing::read_bytes(fixture(kTok512));
  ASSERT_EQ(whole.size(), 6227u);
  std::mt19937_64 rng(3);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 300; ++n) cuts.push_back(n);
  for (int i = 0; i < 100; ++i) cuts.push_back(rng() % whole.size());
  for (size_t n : cuts) {
    std::span<const std::byte> cut(whole.data(), n);
    const Error e = expect_error([&] { parse_tokenizer(cut, 512, "cut.bin"); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_EQ(std::string(e.what()).rfind("cut.bin: ", 0), 0u) << n << ": " << e.what();
  }
  // Random flips either parse or fail cleanly.
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    auto b = whole;
    b[rng() % b.size()] = static_cast<std::byte>(rng() & 0xff);
    try {
      EXPECT_EQ(parse_tokenizer(b, 512, "flip.bin").size(), 512u);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 100);  // flips of a length field
  const Error io = expect_error([] { read_tokenizer("/nonexistent/tokenizer.bin", 0); });
  EXPECT_EQ(io.kind(), ErrorKind::io);
}

}  // namespace
}  // namespace slmkit::llama2c
