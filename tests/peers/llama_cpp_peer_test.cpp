// The llama.cpp peer against the real prebuilt library and the shared fixtures: greedy text the
// fixtures README records, logits consistent with incremental decoding, llama.cpp's own tokenizer
// conformance vectors, and quantized file sizes.
#include "peers/llama_cpp_peer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <sstream>

#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/synth.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "support/llama_cpp.h"

namespace slmkit::peers {
namespace {

namespace fs = std::filesystem;

const char* const kStories260K = "models/gguf-stories260K/stories260K.gguf";
const char* const kStories3M = "models/stories3M/stories3M.gguf";
const char* const kPrompt = "Once upon a time";

// One thread: the test machine's few cores are shared, and a polling threadpool whose workers
// are not scheduled stalls at every barrier. ggml splits matrix rows between threads, so the
// thread count does not change any result checked here.
LlamaCppContextOptions small_context() {
  LlamaCppContextOptions options;
  options.n_ctx = 256;
  options.n_batch = 256;
  options.n_threads = 1;
  return options;
}

int32_t argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

std::vector<LlamaToken> greedy_from_prompt(const LlamaCppModel& model, int32_t n_new) {
  const std::vector<LlamaToken> prompt = model.tokenize(kPrompt, true, false);
  EXPECT_EQ(prompt.front(), model.info().bos) << "add_special puts BOS first";
  LlamaCppContext context(model, small_context());
  std::vector<LlamaToken> generated = context.generate_greedy(prompt, n_new);
  EXPECT_EQ(generated.size(), static_cast<size_t>(n_new));
  return generated;
}

// Greedy decoding of 45 tokens from BOS + "Once upon a time" must reproduce the continuation the
// fixtures README records. The README's strings end at a sentence, not at token 45, so: the
// 45-token text and the README text must agree over the shorter of the two, and some number of
// generated tokens must detokenize to the README text exactly.
void expect_readme_continuation(const char* fixture, const std::string& readme) {
  const LlamaCppModel model = LlamaCppModel::load(testing::fixture(fixture));
  const std::vector<LlamaToken> generated = greedy_from_prompt(model, 64);
  const std::string text45 = model.detokenize(std::span(generated).first(45));
  const size_t common = std::min(text45.size(), readme.size());
  EXPECT_EQ(text45.substr(0, common), readme.substr(0, common));
  std::optional<size_t> exact;
  for (size_t n = 1; n <= generated.size() && !exact; ++n) {
    if (model.detokenize(std::span(generated).first(n)) == readme) exact = n;
  }
  ASSERT_TRUE(exact.has_value()) << "64 greedy tokens: " << model.detokenize(generated);
  std::printf("%s: 45 greedy tokens: \"%s\"; the README continuation is exactly %zu tokens\n",
              fixture, text45.c_str(), *exact);
}

TEST(LlamaCppPeer, LoadsBestCpuBackendVariant) {
  SLMKIT_REQUIRE_LLAMA_CPP();
  const LlamaCppRuntimeInfo& rt = LlamaCppPeer::runtime();
  std::string features;
  for (const auto& f : rt.cpu_features) features += f + " ";
  std::printf("llama.cpp %s from %s\n  CPU backend: %s (variant %s) on %s\n  features: %s\n",
              rt.version.c_str(), rt.llama_library.string().c_str(),
              rt.cpu_backend.string().c_str(), rt.cpu_variant.c_str(), rt.cpu_description.c_str(),
              features.c_str());
  EXPECT_FALSE(rt.cpu_variant.empty());
  EXPECT_EQ(rt.cpu_backend.parent_path().filename(), rt.library_dir.filename());
  EXPECT_FALSE(rt.system_info.empty());
  if (rt.cpu_variant_forced) return;  // SLMKIT_LLAMA_CPP_CPU_VARIANT chose, not the registry
#if defined(__x86_64__)
  // The features are what the loaded variant was compiled with, so these hold only if ggml's
  // registry picked a variant that uses what this CPU has rather than the x64 baseline.
  auto has = [&](const char* name) {
    return std::find(rt.cpu_features.begin(), rt.cpu_features.end(), name) != rt.cpu_features.end();
  };
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_TRUE(has("AVX2")) << features;
  }
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_TRUE(has("AVX512")) << features;
  }
#endif
}

TEST(LlamaCppPeer, Stories260KMetadata) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const LlamaCppModel model = LlamaCppModel::load(testing::fixture(kStories260K));
  const LlamaCppModelInfo info = model.info();
  std::printf("stories260K: %s, %llu params, %llu bytes, ftype %s\n", info.description.c_str(),
              static_cast<unsigned long long>(info.n_params),
              static_cast<unsigned long long>(info.size_bytes), info.ftype_name.c_str());
  EXPECT_EQ(info.architecture, "llama");
  // The README's 260,032 counts llama2.c's classifier once (shared with the embedding); the GGUF
  // stores it again as output.weight, 512 x 64.
  EXPECT_EQ(info.n_params, 260032u + 512u * 64u);
  EXPECT_EQ(info.size_bytes, 4u * info.n_params) << "48 F32 tensors";
  EXPECT_EQ(info.n_vocab, 512);
  EXPECT_EQ(info.n_embd, 64);
  EXPECT_EQ(info.n_layer, 5);
  EXPECT_EQ(info.n_head, 8);
  EXPECT_EQ(info.n_head_kv, 4);
  // The converter wrote llama.context_length 2048, not the 512 it was trained with.
  EXPECT_EQ(info.n_ctx_train, 2048);
  EXPECT_EQ(model.metadata("llama.context_length"), "2048");
  EXPECT_EQ(model.metadata("no.such.key"), std::nullopt);
  // No general.file_type in the file: llama.cpp guesses from the tensors (LLAMA_FTYPE_GUESSED).
  EXPECT_EQ(info.ftype, 1024 | 0);
  EXPECT_EQ(info.ftype_name, "(guessed) all F32");
  EXPECT_EQ(info.bos, 1);
  EXPECT_EQ(info.eos, 2);
  EXPECT_TRUE(info.add_bos);
}

TEST(LlamaCppPeer, Stories260KGreedyMatchesReadme) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  expect_readme_continuation(
      kStories260K,
      ", there was a little girl named Lily. She loved to play outside in the park. One day, "
      "she saw a big, red ball.");
}

TEST(LlamaCppPeer, Stories3MGreedyMatchesReadme) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  expect_readme_continuation(
      kStories3M,
      ", there was a little girl named Lily. She loved to play outside in the park. One day, "
      "she went to the park to play. She saw a big, shiny");
}

TEST(LlamaCppPeer, LogitsOfEveryPositionAgreeWithGreedyDecoding) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  LlamaCppModel model = LlamaCppModel::load(testing::fixture(kStories260K));
  LlamaCppContext context(model, small_context());
  std::vector<LlamaToken> prompt = model.tokenize(
      "Once upon a time, there was a little girl named Lily. She loved", true, false);
  ASSERT_GE(prompt.size(), 16u);
  prompt.resize(16);

  const LlamaCppLogits logits = context.logits(prompt);
  ASSERT_EQ(logits.n_tokens, 16);
  ASSERT_EQ(logits.n_vocab, 512);
  ASSERT_EQ(logits.values.size(), 16u * 512u);
  for (float v : logits.values) ASSERT_TRUE(std::isfinite(v));
  const std::vector<LlamaToken> next = context.generate_greedy(prompt, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(argmax(logits.row(15)), next[0]);

  // The KV cache is cleared between calls: the same call again gives the same numbers (a stale
  // cache would make llama_decode reject positions that start again at 0).
  const LlamaCppLogits again = context.logits(prompt);
  EXPECT_EQ(again.values, logits.values);

  // Causal: the rows of a prefix do not see later tokens. Bounded by float rounding of a batch
  // of another shape, far below the logits' spread (several units).
  const LlamaCppLogits prefix = context.logits(std::span(prompt).first(8));
  float worst = 0.0f;
  for (size_t i = 0; i < prefix.values.size(); ++i) {
    worst = std::max(worst, std::fabs(prefix.values[i] - logits.values[i]));
  }
  EXPECT_LT(worst, 1e-3f);

  // Teacher forcing over prompt + 30 greedy tokens: each row's argmax is the token greedy
  // decoding (one token per llama_decode) chose next.
  const std::vector<LlamaToken> generated = context.generate_greedy(prompt, 30);
  std::vector<LlamaToken> all = prompt;
  all.insert(all.end(), generated.begin(), generated.end());
  const LlamaCppLogits forced = context.logits(all);
  for (size_t k = 0; k < generated.size(); ++k) {
    EXPECT_EQ(argmax(forced.row(static_cast<int32_t>(prompt.size() + k - 1))), generated[k])
        << "generated token " << k;
  }
  std::printf("16-token logits: last-row argmax %d, prefix max |diff| %.3g\n", next[0], worst);
}

struct VocabCase {
  std::string text;
  std::vector<LlamaToken> ids;
};

// llama.cpp's tests/test-tokenizer-0 format: inputs separated by "\n__ggml_vocab_test__\n", one
// line of space-separated ids per input.
std::vector<VocabCase> read_vocab_cases(const fs::path& inp, const fs::path& out) {
  const std::string raw = testing::read_text(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream lines(testing::read_text(out));
  std::vector<VocabCase> cases;
  std::string line;
  for (size_t i = 0; i < inputs.size() && std::getline(lines, line); ++i) {
    VocabCase c{inputs[i], {}};
    std::istringstream ids(line);
    for (LlamaToken id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), inputs.size()) << out;
  return cases;
}

TEST(LlamaCppPeer, LlamaSpmVocabMatchesConformanceVectors) {
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path base = slmkit::testing::source_dir() /
                        "third_party/peers/llama.cpp/models/ggml-vocab-llama-spm.gguf";
  if (!fs::exists(base)) GTEST_SKIP() << base << " absent (llama.cpp source tree not unpacked)";
  LlamaCppModel vocab = LlamaCppModel::load_vocab(base);
  EXPECT_TRUE(vocab.vocab_only());
  EXPECT_EQ(vocab.n_vocab(), 32000);
  EXPECT_EQ(vocab.tokenize("Hello world", false, false), (std::vector<LlamaToken>{15043, 3186}));

  const std::vector<VocabCase> cases =
      read_vocab_cases(base.string() + ".inp", base.string() + ".out");
  ASSERT_EQ(cases.size(), 46u);
  size_t matched = 0;
  for (const VocabCase& c : cases) {
    const std::vector<LlamaToken> got = vocab.tokenize(c.text, false, false);
    EXPECT_EQ(got, c.ids) << "text: '" << c.text << "'";
    matched += got == c.ids;
  }
  std::printf("llama-spm conformance: %zu / %zu inputs tokenized to the Hugging Face ids\n",
              matched, cases.size());

  // SentencePiece puts a space in front when tokenizing; detokenizing drops it from the first
  // piece, except that llama.cpp keeps it when remove_special strips a leading BOS.
  const std::vector<LlamaToken> ids = vocab.tokenize("Hello world", true, false);
  ASSERT_EQ(ids, (std::vector<LlamaToken>{1, 15043, 3186}));
  EXPECT_EQ(vocab.detokenize(std::span(ids).subspan(1)), "Hello world");
  EXPECT_EQ(vocab.detokenize(ids, true), " Hello world");
  EXPECT_EQ(vocab.detokenize(ids, false, true), "<s> Hello world");
  EXPECT_EQ(vocab.token_to_piece(15043), " Hello");
  EXPECT_EQ(vocab.token_to_piece(1, true), "<s>");
  EXPECT_EQ(vocab.token_to_piece(1, false), "");
  EXPECT_EQ(vocab.tokenize("<s>", false, true), (std::vector<LlamaToken>{1}));
}

TEST(LlamaCppPeer, QuantizesStories3MToQ8_0) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const fs::path dir = testing::temp_dir("llama_cpp_quantize");
  const fs::path output = dir / "stories3M-Q8_0.gguf";
  LlamaCppQuantizeOptions options;
  options.ftype = quant::llama_ftype_from_name("Q8_0").value();
  options.n_threads = 2;
  LlamaCppPeer::quantize(testing::fixture(kStories3M), output, options);

  EXPECT_EQ(fs::file_size(output), 3643808u);  // the fixtures README
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file left beside the output";

  LlamaCppModel q8 = LlamaCppModel::load(output);
  const LlamaCppModelInfo info = q8.info();
  std::printf("stories3M Q8_0: %s, %llu params, %llu tensor bytes\n", info.description.c_str(),
              static_cast<unsigned long long>(info.n_params),
              static_cast<unsigned long long>(info.size_bytes));
  EXPECT_EQ(info.ftype, 7);
  EXPECT_EQ(info.ftype_name, "Q8_0");
  EXPECT_EQ(info.n_params, 3410176u);
  EXPECT_EQ(info.n_layer, 4);

  // 99.45% of top-1 tokens agree with F32 on held-out text (fixtures README): the greedy story
  // from Q8_0 should follow the F32 one for a good while.
  const LlamaCppModel f32 = LlamaCppModel::load(testing::fixture(kStories3M));
  const std::vector<LlamaToken> from_q8 = greedy_from_prompt(q8, 45);
  const std::vector<LlamaToken> from_f32 = greedy_from_prompt(f32, 45);
  const size_t same = static_cast<size_t>(
      std::mismatch(from_q8.begin(), from_q8.end(), from_f32.begin()).first - from_q8.begin());
  std::printf("Q8_0 greedy follows F32 for %zu of 45 tokens: \"%s\"\n", same,
              q8.detokenize(from_q8).c_str());
  // Measured 40 with the zen4 variant (they part at "to play with her friends" / "to play. She
  // saw"); another variant's rounding may move a near-tie, so the bound is the first sentences.
  EXPECT_GE(same, 20u);
}

TEST(LlamaCppPeer, TimedPrefillAndDecode) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  LlamaCppModel model = LlamaCppModel::load(testing::fixture(kStories3M));
  LlamaCppContext context(model, small_context());
  LlamaCppBenchOptions options;
  options.reps = 3;
  const LlamaCppTiming pp = context.bench_prompt(128, options);
  const LlamaCppTiming tg = context.bench_generate(32, options);
  ASSERT_EQ(pp.samples_ns.size(), 3u);
  ASSERT_EQ(tg.samples_ns.size(), 3u);
  EXPECT_EQ(pp.n_tokens, 128);
  EXPECT_EQ(tg.n_tokens, 32);
  for (uint64_t ns : pp.samples_ns) EXPECT_GT(ns, 0u);
  for (uint64_t ns : tg.samples_ns) EXPECT_GT(ns, 0u);
  EXPECT_GT(pp.mean_tokens_per_s(), 0.0);
  EXPECT_GT(tg.mean_tokens_per_s(), 0.0);
  std::printf(
      "stories3M F32, %d threads, variant %s: pp128 %.0f +- %.0f t/s, tg32 %.0f +- %.0f t/s\n",
      context.n_threads(), LlamaCppPeer::runtime().cpu_variant.c_str(), pp.mean_tokens_per_s(),
      pp.stdev_tokens_per_s(), tg.mean_tokens_per_s(), tg.stdev_tokens_per_s());
}

TEST(LlamaCppPeer, FailuresCarryTheReason) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  try {
    LlamaCppModel::load("/nonexistent/model.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }

  // Not a GGUF: llama.cpp only returns NULL, so the message has to carry what it logged.
  std::mutex mutex;
  std::vector<std::string> forwarded;
  LlamaCppPeer::set_log_sink([&](LlamaCppLogLevel level, std::string_view text) {
    std::lock_guard lock(mutex);
    if (level == LlamaCppLogLevel::error) forwarded.emplace_back(text);
  });
  const fs::path readme = testing::fixture("README.md");
  try {
    LlamaCppModel::load(readme);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("llama.cpp logged:"), std::string::npos) << e.what();
    std::printf("error for a non-GGUF: %s\n", e.what());
  }
  LlamaCppPeer::set_log_sink({});
  EXPECT_FALSE(forwarded.empty()) << "the log sink saw llama.cpp's error lines";

  LlamaCppModel vocab = LlamaCppModel::load_vocab(testing::fixture(kStories260K));
  EXPECT_THROW(LlamaCppContext(vocab, small_context()), Error);
  const std::vector<LlamaToken> bad = {1, 512};
  EXPECT_THROW(vocab.detokenize(bad), Error);

  LlamaCppModel model = LlamaCppModel::load(testing::fixture(kStories260K));
  LlamaCppContextOptions tiny = small_context();
  tiny.n_batch = 8;
  LlamaCppContext context(model, tiny);
  const std::vector<LlamaToken> nine(9, 1);
  EXPECT_THROW(context.logits(nine), Error) << "more than one batch";
}

TEST(LlamaCppPeer, VocabOnlyTokenizesLikeTheFullModel) {
  SLMKIT_REQUIRE_FIXTURES();
  SLMKIT_REQUIRE_LLAMA_CPP();
  const std::string text =
      testing::read_text(testing::fixture("text/tinystories_val_subset.txt")).substr(0, 4000);
  const auto full = LlamaCppModel::load(testing::fixture(kStories260K)).tokenize(text, true, false);
  const LlamaCppModel vocab = LlamaCppModel::load_vocab(testing::fixture(kStories260K));
  EXPECT_EQ(vocab.tokenize(text, true, false), full);
  EXPECT_GT(full.size(), 1000u);
  // Byte fallback makes this text round-trip exactly (without the BOS, see above).
  EXPECT_EQ(vocab.detokenize(std::span(full).subspan(1)), text);
}

// `slmkit synth` without tokenizer files writes a byte-level BPE vocabulary (256 byte tokens, no
// merges, an end-of-text token): llama.cpp loads the GGUF and tokenizes a text to exactly our
// ids, one per byte, and back.
TEST(LlamaCppPeer, LoadsSynthByteLevelVocabulary) {
  SLMKIT_REQUIRE_LLAMA_CPP();
  SynthOptions so;
  so.arch = "llama";  // no tokenizer_dirs: the byte-level fallback
  const Model model = synthesize_model(so);
  ASSERT_EQ(model.vocab.model, "gpt2");
  ASSERT_TRUE(model.vocab.merges.empty());
  const fs::path gguf = testing::temp_dir("llama_synth_vocab") / "m.gguf";
  save_model(model, gguf, ModelFormat::gguf);
  const std::string text = "Hello, world! \xC3\xA9t\xC3\xA9 \xF0\x9F\xA4\x97\n\ttabs";
  const std::vector<int32_t> ours = Tokenizer::from_path(gguf).encode(text, false);
  EXPECT_EQ(ours.size(), text.size());  // one token per byte
  const LlamaCppModel theirs = LlamaCppModel::load_vocab(gguf);
  EXPECT_EQ(theirs.tokenize(text, false, false), ours);
  EXPECT_EQ(theirs.detokenize(ours), text);
}

// Benchmark output names the build it measured: its kind, GGML_NATIVE and the library file.
TEST(LlamaCppPeer, DescribesTheBuildItLoaded) {
  SLMKIT_REQUIRE_LLAMA_CPP();
  const LlamaCppRuntimeInfo& rt = LlamaCppPeer::runtime();
  const std::string d = rt.describe();
  std::printf("%s\n", d.c_str());
  EXPECT_NE(d.find("llama.cpp " + rt.build.kind + " build"), std::string::npos) << d;
  EXPECT_NE(d.find(rt.build.ggml_native ? "GGML_NATIVE=ON" : "GGML_NATIVE=OFF"), std::string::npos);
  EXPECT_NE(d.find(rt.llama_library.string()), std::string::npos) << d;
  if (rt.build.kind == "native") {
    EXPECT_FALSE(rt.build.commit.empty());
  }
}

}  // namespace
}  // namespace slmkit::peers
