// tokenizer.ggml.* <-> Vocab on real vocabularies, and read -> write -> read identity.
#include "formats/gguf_vocab.h"

#include <gtest/gtest.h>

#include <bit>
#include <functional>

#include "slmkit/error.h"
#include "support/fixtures.h"

namespace slmkit::gguf {
namespace {

using testing::fixture;

void expect_same(const Vocab& a, const Vocab& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.pre, b.pre);
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_EQ(a.scores.size(), b.scores.size());
  for (size_t i = 0; i < a.scores.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(a.scores[i]), std::bit_cast<uint32_t>(b.scores[i])) << i;
  }
  EXPECT_EQ(a.types, b.types);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.bos_id, b.bos_id);
  EXPECT_EQ(a.eos_id, b.eos_id);
  EXPECT_EQ(a.unk_id, b.unk_id);
  EXPECT_EQ(a.pad_id, b.pad_id);
  EXPECT_EQ(a.eot_id, b.eot_id);
  EXPECT_EQ(a.add_bos, b.add_bos);
  EXPECT_EQ(a.add_eos, b.add_eos);
  EXPECT_EQ(a.add_space_prefix, b.add_space_prefix);
  EXPECT_EQ(a.chat_template, b.chat_template);
  EXPECT_EQ(a.source, b.source);
}

// read -> write_vocab into a fresh writer -> parse -> read gives the same Vocab.
Vocab round_trip(const Vocab& vocab) {
  Writer w;
  write_vocab(vocab, w);
  const std::vector<std::byte> bytes = w.to_bytes();
  return read_vocab(parse(bytes, "vocab.gguf", nullptr));
}

TEST(GgufVocab, Stories260K) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture("models/gguf-stories260K/stories260K.gguf"));
  const Vocab v = read_vocab(f);
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.pre, "");
  EXPECT_EQ(v.source, "GGUF");
  ASSERT_EQ(v.size(), 512u);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[3], "<0x00>");
  ASSERT_EQ(v.scores.size(), 512u);
  ASSERT_EQ(v.types.size(), 512u);
  EXPECT_EQ(v.types[0], TokenType::unknown);
  EXPECT_EQ(v.types[1], TokenType::control);
  EXPECT_EQ(v.types[3], TokenType::byte);
  EXPECT_EQ(v.types[259], TokenType::normal);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.pad_id, -1);  // stored as u32 0xFFFFFFFF, gguf-py's "none"
  EXPECT_EQ(v.eot_id, -1);
  EXPECT_FALSE(v.add_bos.has_value());
  EXPECT_TRUE(v.merges.empty());
  expect_same(round_trip(v), v);
}

TEST(GgufVocab, LlamaTinyRandom) {
  SLMKIT_REQUIRE_FIXTURES();
  const Vocab v =
      read_vocab(read_file(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf")));
  ASSERT_EQ(v.size(), 32000u);
  EXPECT_EQ(v.tokens[29871], "\xe2\x96\x81");  // "▁", SentencePiece's space
  EXPECT_EQ(v.tokens[31999], "\xe7\xbb\x99");  // the last piece of Llama-2's vocabulary, "给"
  EXPECT_EQ(v.scores.size(), 32000u);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.pad_id, -1);
  expect_same(round_trip(v), v);
}

TEST(GgufVocab, Gpt2FromLlamaCppVocabFile) {
  const auto path =
      slmkit::testing::source_dir() / "third_party/peers/llama.cpp/models/ggml-vocab-gpt-2.gguf";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " absent (llama.cpp peer not unpacked)";
  const File f = read_file(path);
  const Vocab v = read_vocab(f);
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "gpt-2");
  ASSERT_EQ(v.size(), 50257u);
  EXPECT_EQ(v.tokens[0], "!");
  EXPECT_EQ(v.tokens[50256], "<|endoftext|>");
  EXPECT_TRUE(v.scores.empty());
  ASSERT_EQ(v.types.size(), 50257u);
  EXPECT_EQ(v.types[50256], TokenType::control);
  ASSERT_EQ(v.merges.size(), 50000u);
  EXPECT_EQ(v.merges[0], "\xc4\xa0 t");  // "Ġ t"
  EXPECT_EQ(v.bos_id, 50256);
  EXPECT_EQ(v.eos_id, 50256);
  expect_same(round_trip(v), v);

  // Written back into the file's own writer, every tokenizer kv keeps its bytes, so the whole
  // file comes back unchanged.
  Writer w = writer_from(f);
  write_vocab(v, w);
  const std::vector<std::byte> out = w.to_bytes();
  EXPECT_TRUE(std::equal(out.begin(), out.end(), f.bytes.begin(), f.bytes.end()));
}

TEST(GgufVocab, WritesTheTypesGgufPyWrites) {
  Vocab v;
  v.model = "gpt2";
  v.pre = "llama-bpe";
  v.tokens = {"a", "b", "ab", "<s>", "</s>"};
  v.scores = {0.f, -1.f, -2.5f, 0.f, 0.f};
  v.types = {TokenType::normal, TokenType::normal, TokenType::user_defined, TokenType::control,
             TokenType::control};
  v.merges = {"a b"};
  v.bos_id = 3;
  v.eos_id = 4;
  v.unk_id = 0;
  v.pad_id = 4;
  v.eot_id = 4;
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = false;
  v.chat_template = "{{ messages }}";
  v.source = "GGUF";
  Writer w;
  w.set_string("general.architecture", "llama");
  write_vocab(v, w);
  const std::vector<std::byte> bytes = w.to_bytes();
  const File f = parse(bytes, "types.gguf", nullptr);
  struct Expected {
    const char* key;
    ValueType type;
    ValueType element;
  };
  const Expected expected[] = {
      {"general.architecture", ValueType::string, ValueType::u8},
      {"tokenizer.ggml.model", ValueType::string, ValueType::u8},
      {"tokenizer.ggml.pre", ValueType::string, ValueType::u8},
      {"tokenizer.ggml.tokens", ValueType::array, ValueType::string},
      {"tokenizer.ggml.scores", ValueType::array, ValueType::f32},
      {"tokenizer.ggml.token_type", ValueType::array, ValueType::i32},
      {"tokenizer.ggml.merges", ValueType::array, ValueType::string},
      {"tokenizer.ggml.bos_token_id", ValueType::u32, ValueType::u8},
      {"tokenizer.ggml.eos_token_id", ValueType::u32, ValueType::u8},
      {"tokenizer.ggml.unknown_token_id", ValueType::u32, ValueType::u8},
      {"tokenizer.ggml.padding_token_id", ValueType::u32, ValueType::u8},
      {"tokenizer.ggml.eot_token_id", ValueType::u32, ValueType::u8},
      {"tokenizer.ggml.add_bos_token", ValueType::boolean, ValueType::u8},
      {"tokenizer.ggml.add_eos_token", ValueType::boolean, ValueType::u8},
      {"tokenizer.ggml.add_space_prefix", ValueType::boolean, ValueType::u8},
      {"tokenizer.chat_template", ValueType::string, ValueType::u8},
  };
  ASSERT_EQ(f.kvs.size(), std::size(expected));
  for (size_t i = 0; i < f.kvs.size(); ++i) {
    EXPECT_EQ(f.kvs[i].key, expected[i].key);
    EXPECT_EQ(f.kvs[i].value.type(), expected[i].type) << expected[i].key;
    if (expected[i].type == ValueType::array) {
      EXPECT_EQ(f.kvs[i].value.as_array("a").type, expected[i].element) << expected[i].key;
    }
  }
  expect_same(read_vocab(f), v);

  // A second vocabulary replaces the first: keys it does not define are removed.
  Vocab smaller;
  smaller.model = "llama";
  smaller.tokens = {"x"};
  write_vocab(smaller, w);
  const File g = parse(w.to_bytes(), "types.gguf", nullptr);
  ASSERT_EQ(g.kvs.size(), 3u);
  EXPECT_EQ(g.kvs[0].key, "general.architecture");
  EXPECT_EQ(g.kvs[1].key, "tokenizer.ggml.model");
  EXPECT_EQ(g.kvs[2].key, "tokenizer.ggml.tokens");
}

TEST(GgufVocab, NoTokenizerGivesEmptyVocab) {
  Writer w;
  w.set_string("general.architecture", "llama");
  const Vocab v = read_vocab(parse(w.to_bytes(), "none.gguf", nullptr));
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.model, "");
}

void expect_vocab_error(const std::function<void(Writer&)>& edit, const std::string& needle) {
  Writer w;
  w.set_string("tokenizer.ggml.model", "llama");
  w.set("tokenizer.ggml.tokens",
        Value{Array{ValueType::string, {Value{std::string("a")}, Value{std::string("b")}}}});
  edit(w);
  const std::vector<std::byte> bytes = w.to_bytes();
  try {
    (void)read_vocab(parse(bytes, "bad-vocab.gguf", nullptr));
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_EQ(std::string(e.what()).rfind("bad-vocab.gguf: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GgufVocab, InconsistentMetadataIsRejected) {
  expect_vocab_error(
      [](Writer& w) {
        w.set("tokenizer.ggml.scores", Value{Array{ValueType::f32, {Value{1.f}}}});
      },
      "bad-vocab.gguf: key 'tokenizer.ggml.scores' has 1 entries, expected one per token (2)");
  expect_vocab_error(
      [](Writer& w) {
        w.set("tokenizer.ggml.token_type",
              Value{Array{ValueType::i32, {Value{int32_t{1}}, Value{int32_t{7}}}}});
      },
      "token 1 has type 7, expected 0-6");
  expect_vocab_error(
      [](Writer& w) {
        w.set("tokenizer.ggml.token_type",
              Value{Array{ValueType::u8, {Value{uint8_t{1}}, Value{uint8_t{1}}}}});
      },
      "expected an array of i32, found an array of u8");
  expect_vocab_error(
      [](Writer& w) { w.set_u32("tokenizer.ggml.bos_token_id", 2); },
      "key 'tokenizer.ggml.bos_token_id': token id 2 is outside the vocabulary of 2");
  expect_vocab_error([](Writer& w) { w.set_i32("tokenizer.ggml.eos_token_id", -7); },
                     "token id -7 is outside");
  expect_vocab_error([](Writer& w) { w.set_string("tokenizer.ggml.tokens", "ab"); },
                     "key 'tokenizer.ggml.tokens': expected array, found string");
  expect_vocab_error([](Writer& w) { w.set_u32("tokenizer.ggml.add_bos_token", 1); },
                     "expected bool, found u32");
}

TEST(GgufVocab, WriteRejectsInconsistentVocab) {
  Vocab v;
  v.model = "llama";
  v.tokens = {"a", "b"};
  Writer w;
  v.scores = {1.f};
  EXPECT_THROW(write_vocab(v, w), Error);
  v.scores.clear();
  v.types = {TokenType::normal};
  EXPECT_THROW(write_vocab(v, w), Error);
  v.types.clear();
  v.eos_id = 2;
  EXPECT_THROW(write_vocab(v, w), Error);
  v.eos_id = 1;
  write_vocab(v, w);
  EXPECT_EQ(w.find("tokenizer.ggml.eos_token_id")->as_u64("eos"), 1u);
}

}  // namespace
}  // namespace slmkit::gguf
