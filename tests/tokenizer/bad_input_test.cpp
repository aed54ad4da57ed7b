// Defined behaviour on bad input: invalid UTF-8, empty and huge texts, control characters,
// out-of-range ids, broken vocabularies and corrupt files. Errors are slmkit::Error with a
// message naming what was wrong; nothing crashes.
#include <gtest/gtest.h>

#include <random>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "tokenizer/vocab_sources.h"
#include "vectors.h"

namespace slmkit {
namespace {

Tokenizer load(const std::string& name) {
  return Tokenizer(gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name))));
}

template <typename Fn>
std::string error_of(Fn&& fn, ErrorKind* kind = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "(no error)";
}

void expect_ids_in_range(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    ASSERT_GE(id, 0);
    ASSERT_LT(static_cast<size_t>(id), tok.size());
  }
}

TEST(TokenizerBadInput, InvalidUtf8ReadsAsReplacementCharacters) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  // Byte-level BPE: each byte that starts no valid sequence is U+FFFD, as in llama.cpp.
  for (const char* name : {"gpt-2", "llama-bpe", "qwen2", "gemma-4", "deepseek-llm"}) {
    const Tokenizer tok = load(name);
    const std::string bad = "ab\xff\xfe cd \xe4\xb8 z\xc0\xaf \xed\xa0\x80";
    const std::string repaired =
        "ab\xef\xbf\xbd\xef\xbf\xbd cd \xef\xbf\xbd\xef\xbf\xbd z\xef\xbf\xbd\xef\xbf\xbd "
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
    EXPECT_EQ(tok.encode(bad, false), tok.encode(repaired, false)) << name;
  }
  // SentencePiece keeps the raw bytes (byte-fallback tokens), so decoding gives them back. As
  // in llama.cpp, characters are cut by lead byte: a lead byte that claims the following "▁"
  // turns the escaped space into its three raw bytes.
  const Tokenizer spm = load("llama-spm");
  std::string bad =
      "ab\xff\xfe"
      "cd\xe4\xb8";
  auto ids = spm.encode(bad, false);
  expect_ids_in_range(spm, ids);
  EXPECT_EQ(spm.decode(ids), bad);
  bad = "ab\xfe cd";
  ids = spm.encode(bad, false);
  EXPECT_EQ(spm.decode(ids),
            "ab\xfe\xe2\x96\x81"
            "cd");
}

TEST(TokenizerBadInput, EmptyAndControlCharacters) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  controls += '\x7f';
  for (const char* name : {"gpt-2", "llama-spm", "llama-bpe", "gemma-4", "command-r"}) {
    const Tokenizer tok = load(name);
    EXPECT_TRUE(tok.encode("", false, false).empty()) << name;
    EXPECT_TRUE(tok.encode("", false, true).empty()) << name;
    const auto ids = tok.encode(controls, false);
    expect_ids_in_range(tok, ids);
    EXPECT_EQ(tok.decode(ids), controls) << name;
    const std::string nul("a\0b", 3);
    EXPECT_EQ(tok.decode(tok.encode(nul, false)), nul) << name;
  }
}

TEST(TokenizerBadInput, TenMegabytesRoundTrip) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const std::string wiki = testing::read_text(testing::fixture("text/wiki.test.raw"));
  std::string big;
  big.reserve(10u << 20);
  while (big.size() < (10u << 20)) big += wiki;
  big.resize(10u << 20);
  // Also one 1 MB "word" (one piece for every pre-tokenizer: the merge heap's worst case) and
  // one 1 MB run of spaces.
  const std::string word(1u << 20, 'x');
  const std::string spaces(1u << 20, ' ');
  for (const char* name : {"gpt-2", "llama-spm", "gemma-4"}) {
    const Tokenizer tok = load(name);
    auto ids = tok.encode(big, false);
    EXPECT_GT(ids.size(), big.size() / 8) << name;
    EXPECT_EQ(tok.decode(ids), big) << name;
    ids = tok.encode(word, false);
    EXPECT_EQ(tok.decode(ids), word) << name;
    ids = tok.encode(spaces, false);
    EXPECT_EQ(tok.decode(ids), spaces) << name;
  }
}

TEST(TokenizerBadInput, RandomBytesNeverCrash) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  std::mt19937 rng(1234);
  for (const char* name :
       {"gpt-2", "llama-spm", "llama-bpe", "gemma-4", "deepseek-llm", "falcon"}) {
    const Tokenizer tok = load(name);
    for (int trial = 0; trial < 200; ++trial) {
      std::string s(rng() % 64, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      const auto ids = tok.encode(s, true, trial % 2 == 0);
      expect_ids_in_range(tok, ids);
      (void)tok.decode(ids);
    }
  }
}

TEST(TokenizerBadInput, OutOfRangeIdsInDecodeAreErrors) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Tokenizer tok = load("gpt-2");
  const std::vector<int32_t> ids = {15496, 50257};
  ErrorKind kind{};
  const std::string msg = error_of([&] { (void)tok.decode(ids); }, &kind);
  EXPECT_EQ(kind, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("50257"), std::string::npos) << msg;
  EXPECT_NE(msg.find("50257 tokens"), std::string::npos) << msg;
  EXPECT_THROW((void)tok.decode(std::vector<int32_t>{-1}), Error);
  EXPECT_THROW((void)tok.token_bytes(-5), Error);
}

TEST(TokenizerBadInput, BrokenVocabularies) {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  v.tokens = {"a", "b", "ab"};
  ErrorKind kind{};
  std::string msg = error_of([&] { Tokenizer t(v); }, &kind);
  EXPECT_EQ(kind, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("merges"), std::string::npos) << msg;

  // Merges that name strings the vocabulary lacks still apply; what never became a token falls
  // back to single characters.
  v.merges = {"a b", "x y", "ab c", "Ġ a"};
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("ab", false), (std::vector<int32_t>{2}));
  EXPECT_EQ(t.encode("abc", false), (std::vector<int32_t>{0, 1}));  // "abc": not a token; "c" none
  EXPECT_EQ(t.encode(" a", false), (std::vector<int32_t>{0}));      // "Ġ" has no token

  v.pre = "no-such-pre";
  msg = error_of([&] { Tokenizer bad(v); }, &kind);
  EXPECT_EQ(kind, ErrorKind::unsupported);
  EXPECT_NE(msg.find("no-such-pre"), std::string::npos);
  EXPECT_NE(msg.find("llama-bpe"), std::string::npos) << "lists the supported names: " << msg;

  v.model = "bert";
  msg = error_of([&] { Tokenizer bad(v); }, &kind);
  EXPECT_EQ(kind, ErrorKind::unsupported);
  EXPECT_NE(msg.find("bert"), std::string::npos);

  Vocab empty;
  empty.model = "llama";
  EXPECT_THROW(Tokenizer bad(empty), Error);

  Vocab short_scores;
  short_scores.model = "llama";
  short_scores.tokens = {"<unk>", "<s>", "</s>", "a"};
  short_scores.scores = {0.0f};
  msg = error_of([&] { Tokenizer bad(short_scores); });
  EXPECT_NE(msg.find("1 scores for 4 tokens"), std::string::npos) << msg;
}

TEST(TokenizerBadInput, CorruptTokenizerJson) {
  auto parse = [](const std::string& json) { return parse_tokenizer_json(json, "t.json"); };
  ErrorKind kind{};
  std::string msg = error_of([&] { parse("{not json"); }, &kind);
  EXPECT_EQ(kind, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("t.json"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { parse(std::string(100000, '[')); }).find("nested deeper"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse(R"({"model": 5})"); }).find("model"), std::string::npos);
  EXPECT_NE(error_of([&] {
              parse(R"({"model": {"type": "BPE", "vocab": {"a": 4000000000}}})");
            }).find("4000000000"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse(R"({"model": {"type": "BPE", "vocab": {"a": "x"}}})");
            }).find("not an integer"),
            std::string::npos);
  error_of([&] { parse(R"({"model": {"type": "Unigram", "vocab": []}})"); }, &kind);
  EXPECT_EQ(kind, ErrorKind::unsupported);
  EXPECT_NE(error_of([&] {
              parse(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1]}})");
            }).find("merges[0]"),
            std::string::npos);
  // A well-formed minimal byte-level file works end to end.
  const Vocab v = parse(
      R"({"pre_tokenizer": {"type": "ByteLevel", "use_regex": true},
          "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3},
                    "merges": ["a b"]}})");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "gpt-2");
  // " ab" is "Ġ", "a", "b" as symbols: "a b" merges, "Ġ" stays alone.
  EXPECT_EQ(Tokenizer(v).encode("ab ab", false), (std::vector<int32_t>{2, 3, 2}));
}

TEST(TokenizerBadInput, CorruptSentencePieceModel) {
  SLMKIT_REQUIRE_FIXTURES();
  auto parse = [](const std::vector<std::byte>& b) {
    return parse_sentencepiece_model(b, "t.model");
  };
  ErrorKind kind{};
  std::string msg = error_of([&] { parse({std::byte{0xFF}, std::byte{0xFF}}); }, &kind);
  EXPECT_EQ(kind, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("t.model"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { parse({}); }).find("no pieces"), std::string::npos);
  // Truncating the real model anywhere gives an error or a smaller valid model, never a crash.
  const auto real = testing::read_bytes(testing::fixture("tokenizers/llama2-spm/tokenizer.model"));
  for (size_t cut : {size_t{1}, size_t{7}, size_t{100}, real.size() / 2, real.size() - 3}) {
    const std::vector<std::byte> part(real.begin(), real.begin() + static_cast<ptrdiff_t>(cut));
    try {
      const Tokenizer tok(parse(part));
      expect_ids_in_range(tok, tok.encode("Hello world"));
    } catch (const Error&) {
    }
  }
}

TEST(TokenizerBadInput, FromPathNamesWhatItCannotRead) {
  const auto dir = testing::temp_dir("from_path_bad");
  testing::write_bytes(dir / "junk.bin", {std::byte{1}, std::byte{2}, std::byte{3}});
  std::string msg = error_of([&] { Tokenizer::from_path(dir / "junk.bin"); });
  EXPECT_NE(msg.find("junk.bin"), std::string::npos) << msg;
  ErrorKind kind{};
  msg = error_of([&] { Tokenizer::from_path(dir / "missing.json"); }, &kind);
  EXPECT_EQ(kind, ErrorKind::io);
  EXPECT_NE(msg.find("missing.json"), std::string::npos) << msg;
}

}  // namespace
}  // namespace slmkit
