// A GGUF we write tokenizes in llama.cpp exactly as slmkit tokenizes the source it came from:
// each vocabulary read from Hugging Face / SentencePiece / GPT-2 files is written with
// gguf::write_vocab into a copy of the family's llama.cpp vocab GGUF (tokenizer keys replaced),
// loaded by the real libllama, and compared on llama.cpp's vectors and a multilingual text.
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "peers/llama_cpp_peer.h"
#include "tokenizer/vocab_sources.h"
#include "vectors.h"

namespace slmkit {
namespace {

using peers::LlamaCppModel;
using peers::LlamaCppPeer;
using testing::fixture;

const char* const kText =
    "Hello world! It's 2024: Fünf Ärzte, Съешь же ещё, 我想在apple工作1314151天～ "
    "🦙🚀\n"
    "    def f(x):\n\treturn x**2\n\n\n   trailing   ";

struct Case {
  const char* name;    // ggml-vocab-NAME.gguf: the base file and the vectors
  const char* source;  // fixture path of the vocabulary source
  const char* merges;  // GPT-2 files only: the merges beside the vocab
};

// Names the case in test listings instead of dumping the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name << " from " << c.source;
}

class WrittenGguf : public ::testing::TestWithParam<Case> {};

TEST_P(WrittenGguf, TokenizesIdenticallyInLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  if (!LlamaCppPeer::available()) GTEST_SKIP() << LlamaCppPeer::unavailable_reason();
  const Case c = GetParam();
  const Vocab vocab = c.merges ? read_vocab_and_merges(fixture(c.source), fixture(c.merges))
                               : Tokenizer::from_path(fixture(c.source)).vocab();
  const gguf::File base = gguf::read_file(testing::vocab_gguf(c.name));
  gguf::Writer writer = gguf::writer_from(base);
  for (const gguf::KeyValue& kv : base.kvs) {
    if (kv.key.starts_with("tokenizer.")) writer.remove(kv.key);
  }
  gguf::write_vocab(vocab, writer);
  const auto path = testing::temp_dir("gguf_peer") / (std::string(c.name) + ".gguf");
  writer.write(path);

  const LlamaCppModel peer = LlamaCppModel::load_vocab(path);
  const Tokenizer ours(vocab);
  ASSERT_EQ(static_cast<size_t>(peer.n_vocab()), ours.size());
  auto cases = testing::read_vectors(c.name);
  cases.push_back({kText, {}});
  for (const auto& v : cases) {
    const auto theirs = peer.tokenize(v.text, false, false);
    const auto mine = ours.encode(v.text, false, false);
    ASSERT_EQ(theirs, mine) << c.name << ": '" << testing::escape(v.text) << "'";
    if (!v.ids.empty()) {
      EXPECT_EQ(mine, v.ids) << c.name << ": '" << testing::escape(v.text) << "'";
    }
    // With special tokens: the BOS/EOS policy travelled through the file too.
    EXPECT_EQ(peer.tokenize(v.text, true, false), ours.encode(v.text, true, false)) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Source, WrittenGguf,
    ::testing::Values(Case{"gpt-2", "tokenizers/gpt2/encoder.json", "tokenizers/gpt2/vocab.bpe"},
                      Case{"llama-spm", "tokenizers/llama2-spm/tokenizer.model", nullptr},
                      Case{"llama-bpe", "tokenizers/hf/llama3/tokenizer.json", nullptr},
                      Case{"qwen2", "tokenizers/hf/qwen3/tokenizer.json", nullptr},
                      Case{"gemma-4", "tokenizers/hf/gemma3/tokenizer.json", nullptr}),
    [](const ::testing::TestParamInfo<Case>& param) {
      std::string n = param.param.name;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

// The same ids as llama.cpp over 300 KB of WikiText for the benchmark's vocabularies: the long-text
// path (word cache, SentencePiece/Gemma word segmentation) against the reference.
TEST(LlamaCppPeerIds, WikiTextIdentical) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  if (!LlamaCppPeer::available()) GTEST_SKIP() << LlamaCppPeer::unavailable_reason();
  std::string text = testing::read_text(fixture("text/wiki.test.raw"));
  text.resize(300000);
  for (const char* name : {"gpt-2", "llama-spm", "llama-bpe", "gemma-4"}) {
    const LlamaCppModel peer = LlamaCppModel::load_vocab(testing::vocab_gguf(name));
    const Tokenizer ours(gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name))));
    EXPECT_EQ(peer.tokenize(text, true, false), ours.encode(text, true, false)) << name;
  }
}

}  // namespace
}  // namespace slmkit
