// Exact ids for every string of llama.cpp's tokenizer vectors (produced by Hugging Face
// tokenizers), one ctest entry per vocabulary, read through the same GGUF vocab path a model
// file takes.
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "vectors.h"

namespace slmkit {
namespace {

class LlamaCppVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVectors, ExactIdsForEveryString) {
  SLMKIT_REQUIRE_LLAMA_CPP_MODELS();
  const std::string name = GetParam();
  const Tokenizer tok(gguf::read_vocab(gguf::read_file(testing::vocab_gguf(name))));
  const auto cases = testing::read_vectors(name);
  ASSERT_GE(cases.size(), 40u) << "expected llama.cpp's 46 test strings for " << name;
  std::string report;
  const size_t failures = testing::count_mismatches(tok, cases, &report);
  EXPECT_EQ(failures, 0u) << name << ": " << failures << " of " << cases.size()
                          << " strings differ; first:\n"
                          << report;
}

INSTANTIATE_TEST_SUITE_P(Vocab, LlamaCppVectors,
                         ::testing::Values("gpt-2", "llama-spm", "llama-bpe", "qwen2", "phi-3",
                                           "starcoder", "falcon", "deepseek-llm", "deepseek-coder",
                                           "mpt", "refact", "command-r", "qwen35", "gemma-4"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace slmkit
