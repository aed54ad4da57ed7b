// The encoders' building blocks against simple references: both BPE merge strategies agree,
// word segmentation and the word cache leave ids unchanged, the regex splitter covers its input,
// and the UTF-8 helpers match their definitions.
#include <gtest/gtest.h>

#include <random>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"
#include "vectors.h"

namespace slmkit {
namespace {

Vocab load_vocab(const std::string& name) {
  return gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name)));
}

TEST(BpeModel, NaiveAndHeapMergeOrdersAgree) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const Vocab vocab = load_vocab("gpt-2");
  const tok::BpeModel bpe(vocab, true, false);
  EXPECT_EQ(bpe.n_merges(), 50000u);
  const std::string wiki = testing::read_text(testing::fixture("text/wiki.test.raw"));
  std::mt19937 rng(7);
  size_t checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    // Random slices: words, pieces of words and long runs mixing both.
    const size_t len = 1 + rng() % (trial % 10 == 0 ? 200 : 24);
    const size_t at = rng() % (wiki.size() - len);
    const std::string piece = wiki.substr(at, len);
    std::vector<int32_t> naive;
    std::vector<int32_t> heap;
    bpe.encode_piece_naive(piece, naive);
    bpe.encode_piece_heap(piece, heap);
    ASSERT_EQ(naive, heap) << "'" << testing::escape(piece) << "'";
    ++checked;
  }
  EXPECT_EQ(checked, 3000u);
}

TEST(Tokenizer, WordCacheLeavesIdsUnchanged) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  // Long inputs (> 4 KiB) remember words across the call; short ones do not. Lines that start
  // and end with a non-space are independent pieces for these pre-tokenizers, so encoding the
  // whole text or line by line must give the same ids.
  const std::string wiki = testing::read_text(testing::fixture("text/wiki.test.raw"));
  std::vector<std::string> lines;
  size_t total = 0;
  for (size_t pos = 0; pos < wiki.size() && total < 200000;) {
    const size_t end = std::min(wiki.find('\n', pos), wiki.size());
    std::string line = wiki.substr(pos, end - pos);
    pos = end + 1;
    const size_t a = line.find_first_not_of(' ');
    if (a == std::string::npos) continue;
    line = line.substr(a, line.find_last_not_of(' ') - a + 1) + "\n";
    total += line.size();
    lines.push_back(std::move(line));
  }
  std::string text;
  for (const std::string& l : lines) text += l;
  for (const char* name : {"gpt-2", "llama-bpe", "gemma-4"}) {
    const Tokenizer tok(load_vocab(name));
    const auto whole = tok.encode(text, false);
    std::vector<int32_t> by_line;
    for (const std::string& l : lines) {
      const auto ids = tok.encode(l, false);
      by_line.insert(by_line.end(), ids.begin(), ids.end());
    }
    EXPECT_EQ(whole, by_line) << name;
  }
}

TEST(RegexSplitter, PiecesCoverTheTextInOrder) {
  const tok::PreTokenizerSpec spec = tok::pre_tokenizer_spec("deepseek-llm");
  const tok::RegexSplitter splitter(spec.regexes);
  const std::string text = "Hello, World!\n 123 我想在 αβγ   x\r\n\n  ";
  std::vector<tok::Piece> pieces;
  splitter.split(text, pieces);
  size_t pos = 0;
  for (const tok::Piece& p : pieces) {
    EXPECT_EQ(p.offset, pos);
    EXPECT_GT(p.length, 0u);
    pos += p.length;
  }
  EXPECT_EQ(pos, text.size());
}

TEST(RegexSplitter, Gpt2PatternSplitsLikeHuggingFace) {
  const tok::RegexSplitter splitter(tok::pre_tokenizer_spec("gpt-2").regexes);
  const std::string text = "I've 12 cats!!  ok\n\n";
  std::vector<tok::Piece> pieces;
  splitter.split(text, pieces);
  std::vector<std::string> words;
  for (const tok::Piece& p : pieces) words.push_back(text.substr(p.offset, p.length));
  EXPECT_EQ(words,
            (std::vector<std::string>{"I", "'ve", " 12", " cats", "!!", " ", " ok", "\n\n"}));
}

TEST(PreTokenizer, KnowsLlamaCppNamesAndRejectsOthers) {
  for (const std::string& name : tok::supported_pre_tokenizers()) {
    EXPECT_NO_THROW(tok::RegexSplitter(tok::pre_tokenizer_spec(name).regexes)) << name;
  }
  EXPECT_EQ(tok::pre_tokenizer_spec("").name, "default");
  EXPECT_TRUE(tok::pre_tokenizer_spec("llama-bpe").ignore_merges);
  EXPECT_FALSE(tok::pre_tokenizer_spec("gemma4").byte_level);
  EXPECT_THROW(tok::pre_tokenizer_spec("whatever"), Error);
}

TEST(Utf8, ValidationAndRepair) {
  EXPECT_TRUE(tok::utf8_is_valid("plain ascii text that is long enough"));
  EXPECT_TRUE(tok::utf8_is_valid("\xc3\xa9\xe6\x88\x91\xf0\x9f\xa6\x99"));
  EXPECT_FALSE(tok::utf8_is_valid("\xc0\xaf"));          // overlong
  EXPECT_FALSE(tok::utf8_is_valid("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(tok::utf8_is_valid("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(tok::utf8_is_valid("abc\xe6\x88"));       // truncated
  EXPECT_EQ(tok::utf8_repair("a\xffz"), "a\xef\xbf\xbdz");
  EXPECT_EQ(tok::utf8_repair("\xe6\x88"), "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Utf8, ByteLevelTableIsGpt2s) {
  const auto& t = tok::byte_level_table();
  EXPECT_EQ(t.byte_to_text[' '], "\xc4\xa0");   // "Ġ"
  EXPECT_EQ(t.byte_to_text['\n'], "\xc4\x8a");  // "Ċ"
  EXPECT_EQ(t.byte_to_text['a'], "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all += t.byte_to_text[b];
  std::string back;
  ASSERT_TRUE(tok::byte_level_decode(all, back));
  ASSERT_EQ(back.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(static_cast<unsigned char>(back[b]), b);
  EXPECT_FALSE(tok::byte_level_decode("\xe2\x96\x81", back));  // "▁" stands for no byte
}

}  // namespace
}  // namespace slmkit
