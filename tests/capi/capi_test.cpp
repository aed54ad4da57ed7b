// The C API against the C++ engine: generations driven from C (capi_driver.c) over every fixture
// model and synthetic gpt2 / gemma3 / qwen2 GGUFs give the engine's exact tokens; stories260K
// continues "Once upon a time" as llama.cpp does; the arena is sized exactly and never overrun;
// threads come only from the hooks; misuse and bad blobs are statuses with messages.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "capi/capi_driver.h"
#include "slmkit/engine.h"
#include "slmkit/slmkit.h"
#include "slmkit/tokenizer.h"
#include "slmkit/version.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using testing::fixture;

constexpr const char* kStories260K = "models/gguf-stories260K/stories260K.gguf";
// The fixtures README: llama.cpp's greedy continuation of BOS + "Once upon a time".
constexpr const char* kStories260KContinuation =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw "
    "a big, red ball.";

slm_sampler_params greedy() {
  slm_sampler_params p = slm_session_default_params().sampler;
  p.temperature = 0.0f;
  return p;
}

SamplerParams cpp_sampler(const slm_sampler_params& p) {
  return SamplerParams{p.temperature,    p.top_k,         p.top_p, p.min_p,
                       p.repeat_penalty, p.repeat_last_n, p.seed};
}

capi_run_result run_c(const fs::path& model, const char* prompt, int32_t n_predict,
                      const slm_sampler_params& sampler, int32_t n_threads = 1,
                      int32_t n_ctx = 128) {
  const std::string path = model.string();
  const capi_run_request request{path.c_str(), prompt, n_predict, n_ctx, n_threads, sampler};
  capi_run_result result;
  EXPECT_EQ(capi_run(&request, &result), 0) << model << ": " << result.error;
  return result;
}

// The same generation through the C++ API: prompt ids, then n_predict sampled tokens.
struct CppRun {
  std::vector<int32_t> prompt;
  std::vector<int32_t> generated;
};

CppRun run_cpp(const fs::path& path, const char* prompt, int32_t n_predict,
               const slm_sampler_params& sampler, int32_t n_ctx = 128) {
  Model model = load_model(path);
  const Tokenizer tokenizer(model.vocab);
  CppRun run;
  run.prompt = tokenizer.encode(prompt, /*add_special=*/false);
  if (tokenizer.bos_id() >= 0) run.prompt.insert(run.prompt.begin(), tokenizer.bos_id());
  const Engine engine(std::move(model));
  Session session(engine, SessionOptions{.n_ctx = n_ctx, .n_threads = 1});
  GenerateOptions options;
  options.n_predict = n_predict;
  options.sampling = cpp_sampler(sampler);
  options.stop_tokens = {-1};  // none: the C driver does not stop either
  run.generated = generate(session, run.prompt, options).tokens;
  return run;
}

std::vector<int32_t> ids(const int32_t* p, int32_t n) {
  return std::vector<int32_t>(p, p + std::max(n, 0));
}

fs::path synth_gguf(const std::string& arch) {
  const fs::path out = testing::temp_dir("capi-synth-" + arch) / (arch + ".gguf");
  std::string log;
  const int rc = testing::run_command(testing::cli_path().string() + " synth --arch " + arch +
                                          " --shape tiny --dtype f16 --seed 5 -o " + out.string() +
                                          " --tokenizer-dir " + fixture("tokenizers").string(),
                                      &log);
  EXPECT_EQ(rc, 0) << log;
  return out;
}

struct Blob {  // a file's bytes at a 64-byte aligned address
  explicit Blob(const fs::path& path) : bytes(testing::read_bytes(path)) {}
  std::vector<std::byte> bytes;
  const std::byte* data() const { return bytes.data(); }
  size_t size() const { return bytes.size(); }
};

struct ModelHandle {
  slm_model* m = nullptr;
  ~ModelHandle() { slm_model_free(m); }
};

struct AlignedArena {
  explicit AlignedArena(size_t n) : bytes(n + 64) {}
  std::vector<std::byte> bytes;
  std::byte* data() {
    auto p = reinterpret_cast<uintptr_t>(bytes.data());
    return bytes.data() + (64 - p % 64) % 64;
  }
};

TEST(CApi, VersionAndStatusNames) {
  EXPECT_STREQ(slm_version(), version());
  EXPECT_EQ(std::to_string(SLM_VERSION_MAJOR) + "." + std::to_string(SLM_VERSION_MINOR) + "." +
                std::to_string(SLM_VERSION_PATCH),
            slm_version());
  EXPECT_STREQ(slm_status_name(SLM_ERR_BAD_MODEL), "SLM_ERR_BAD_MODEL");
  EXPECT_STREQ(slm_status_name(SLM_OK), "SLM_OK");
  const slm_session_params p = slm_session_default_params();
  EXPECT_EQ(p.n_threads, 1);
  EXPECT_EQ(p.n_ctx, 0);
  EXPECT_EQ(p.threads, nullptr);
}

TEST(CApi, Stories260KContinuesOnceUponATimeAsLlamaCpp) {
  SLMKIT_REQUIRE_FIXTURES();
  const capi_run_result r = run_c(fixture(kStories260K), "Once upon a time", 40, greedy());
  EXPECT_EQ(r.short_arena_status, SLM_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(std::string(r.text).substr(0, std::strlen(kStories260KContinuation)),
            kStories260KContinuation);
  EXPECT_EQ(r.prompt[0], 1);  // BOS
}

TEST(CApi, GreedyTokensFromCMatchTheEngineOnEveryModel) {
  SLMKIT_REQUIRE_FIXTURES();
  std::vector<fs::path> models = {
      fixture(kStories260K), fixture("models/stories3M/stories3M.gguf"),
      fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf")};
  for (const char* arch : {"gpt2", "gemma3", "qwen2"}) models.push_back(synth_gguf(arch));
  for (const fs::path& model : models) {
    SCOPED_TRACE(model.string());
    const capi_run_result c = run_c(model, "Once upon a time, in a land far away", 24, greedy());
    const CppRun cpp = run_cpp(model, "Once upon a time, in a land far away", 24, greedy());
    EXPECT_EQ(ids(c.prompt, c.n_prompt), cpp.prompt);
    EXPECT_EQ(ids(c.generated, c.n_generated), cpp.generated);
    EXPECT_EQ(c.short_arena_status, SLM_ERR_OUT_OF_MEMORY);
  }
}

TEST(CApi, SeededSamplingMatchesTheEngineAndThreadsDoNotChangeTokens) {
  SLMKIT_REQUIRE_FIXTURES();
  const fs::path model = fixture("models/stories3M/stories3M.gguf");
  slm_sampler_params sampler = slm_session_default_params().sampler;
  sampler.seed = 1234;
  sampler.repeat_penalty = 1.1f;
  sampler.temperature = 1.0f;
  const capi_run_result c = run_c(model, "Tom had a dog", 40, sampler);
  const CppRun cpp = run_cpp(model, "Tom had a dog", 40, sampler);
  EXPECT_EQ(ids(c.generated, c.n_generated), cpp.generated);
  // The engine splits rows between threads, never a dot product: the same logits, bit for bit.
  const capi_run_result c3 = run_c(model, "Tom had a dog", 40, sampler, 3);
  EXPECT_EQ(ids(c3.generated, c3.n_generated), cpp.generated);
}

// One byte short is refused without a write; exactly the size asked is enough, and nothing past it
// is ever written, whatever the params.
TEST(CApi, ArenaIsSizedExactlyAndNeverOverrun) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  ModelHandle model;
  ASSERT_EQ(slm_model_open_memory(blob.data(), blob.size(), &model.m), SLM_OK) << slm_last_error();
  constexpr std::byte kCanary{0xA5};
  constexpr size_t kSlack = 4096;
  for (int32_t n_ctx : {1, 64, 512}) {
    for (int32_t threads : {1, 3}) {
      for (int32_t kv : {SLM_KV_F16, SLM_KV_F32}) {
        SCOPED_TRACE(::testing::Message()
                     << "n_ctx " << n_ctx << ", threads " << threads << ", kv " << kv);
        slm_session_params p = slm_session_default_params();
        p.n_ctx = n_ctx;
        p.n_threads = threads;
        p.kv_type = kv;
        p.n_batch = 7;
        const size_t need = slm_session_arena_bytes(model.m, &p);
        ASSERT_GT(need, 0u) << slm_last_error();
        AlignedArena arena(need + kSlack);
        std::byte* a = arena.data();
        std::fill(a, a + need + kSlack, kCanary);
        slm_session* s = nullptr;
        EXPECT_EQ(slm_session_create(model.m, &p, a, need - 1, &s), SLM_ERR_OUT_OF_MEMORY);
        EXPECT_EQ(s, nullptr);
        EXPECT_NE(std::string(slm_last_error()).find(std::to_string(need)), std::string::npos)
            << slm_last_error();
        EXPECT_TRUE(std::all_of(a, a + need + kSlack, [&](std::byte b) { return b == kCanary; }))
            << "a refused create wrote into the arena";
        ASSERT_EQ(slm_session_create(model.m, &p, a, need + kSlack, &s), SLM_OK)
            << slm_last_error();
        const int32_t prompt[] = {1, 403, 407, 261, 378};
        const int32_t n = std::min<int32_t>(5, n_ctx);
        EXPECT_EQ(slm_decode(s, prompt, n, nullptr), SLM_OK) << slm_last_error();
        int32_t id = -1;
        EXPECT_EQ(slm_sample(s, &id), SLM_OK);
        slm_session_free(s);
        EXPECT_TRUE(
            std::all_of(a + need, a + need + kSlack, [&](std::byte b) { return b == kCanary; }))
            << "the session wrote past the " << need << " bytes it asked for";
      }
    }
  }
  // An arena that is not 64-byte aligned is refused.
  slm_session_params p = slm_session_default_params();
  const size_t need = slm_session_arena_bytes(model.m, &p);
  AlignedArena arena(need + 64);
  slm_session* s = nullptr;
  EXPECT_EQ(slm_session_create(model.m, &p, arena.data() + 8, need, &s), SLM_ERR_INVALID_ARGUMENT);
}

std::atomic<int> g_started{0}, g_joined{0};

void* start_counted(void (*run)(void*), void* arg, void*) {
  g_started.fetch_add(1);
  return new std::thread(run, arg);
}
void join_counted(void* t, void*) {
  static_cast<std::thread*>(t)->join();
  delete static_cast<std::thread*>(t);
  g_joined.fetch_add(1);
}
void* start_refused(void (*)(void*), void*, void*) {
  return nullptr;
}

size_t threads_in_process() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

TEST(CApi, WorkersComeFromTheHooksAndOneThreadStartsNone) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  ModelHandle model;
  ASSERT_EQ(slm_model_open_memory(blob.data(), blob.size(), &model.m), SLM_OK);
  const int32_t prompt[] = {1, 403, 407, 261, 378};

  slm_session_params p = slm_session_default_params();
  const size_t before = threads_in_process();
  slm_session* s = nullptr;
  ASSERT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_OK);
  ASSERT_EQ(slm_decode(s, prompt, 5, nullptr), SLM_OK);
  EXPECT_EQ(threads_in_process(), before) << "n_threads = 1 started a thread";
  std::vector<float> one(512);
  std::memcpy(one.data(), slm_session_logits(s), one.size() * sizeof(float));
  slm_session_free(s);

  const slm_thread_hooks hooks{start_counted, join_counted, nullptr};
  p.n_threads = 4;
  p.threads = &hooks;
  ASSERT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_OK) << slm_last_error();
  EXPECT_EQ(g_started.load(), 3);
  ASSERT_EQ(slm_decode(s, prompt, 5, nullptr), SLM_OK);
  EXPECT_EQ(std::memcmp(one.data(), slm_session_logits(s), one.size() * sizeof(float)), 0);
  slm_session_free(s);
  EXPECT_EQ(g_joined.load(), 3);

  // A host that cannot start a thread gets SLM_ERR_IO.
  const slm_thread_hooks refuse{start_refused, join_counted, nullptr};
  p.threads = &refuse;
  EXPECT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_ERR_IO);
  EXPECT_EQ(s, nullptr);
}

TEST(CApi, TruncateAndResetReplayTheSameTokens) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  ModelHandle model;
  ASSERT_EQ(slm_model_open_memory(blob.data(), blob.size(), &model.m), SLM_OK);
  slm_session_params p = slm_session_default_params();
  p.n_ctx = 64;
  p.sampler = greedy();
  slm_session* s = nullptr;
  ASSERT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_OK);
  int32_t prompt[16];
  const int32_t n = slm_tokenize(model.m, "Lily saw a cat", 14, 1, prompt, 16);
  ASSERT_GT(n, 1);
  auto continue_for = [&](int count) {
    std::vector<int32_t> out;
    for (int i = 0; i < count; ++i) {
      int32_t id = -1;
      EXPECT_EQ(slm_sample(s, &id), SLM_OK);
      out.push_back(id);
      EXPECT_EQ(slm_decode(s, &id, 1, nullptr), SLM_OK);
    }
    return out;
  };
  ASSERT_EQ(slm_decode(s, prompt, n, nullptr), SLM_OK);
  const std::vector<int32_t> first = continue_for(10);
  EXPECT_EQ(slm_session_n_past(s), n + 10);

  ASSERT_EQ(slm_session_truncate(s, n - 1), SLM_OK);
  EXPECT_EQ(slm_session_logits(s), nullptr);
  int32_t id = -1;
  EXPECT_EQ(slm_sample(s, &id), SLM_ERR_INVALID_ARGUMENT);  // its logits went with the position
  ASSERT_EQ(slm_decode(s, prompt + n - 1, 1, nullptr), SLM_OK);
  EXPECT_EQ(continue_for(10), first);

  slm_session_reset(s);
  EXPECT_EQ(slm_session_n_past(s), 0);
  ASSERT_EQ(slm_decode(s, prompt, n, nullptr), SLM_OK);
  EXPECT_EQ(continue_for(10), first);
  EXPECT_EQ(slm_session_truncate(s, n + 11), SLM_ERR_INVALID_ARGUMENT);
  slm_session_free(s);
}

TEST(CApi, MetadataAndMemoryAccounting) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  ModelHandle model;
  ASSERT_EQ(slm_model_open_memory(blob.data(), blob.size(), &model.m), SLM_OK);
  EXPECT_STREQ(slm_model_architecture(model.m), "llama");
  EXPECT_EQ(slm_model_n_vocab(model.m), 512);
  EXPECT_EQ(slm_model_n_embd(model.m), 64);
  EXPECT_EQ(slm_model_n_layer(model.m), 5);
  EXPECT_EQ(slm_model_n_head(model.m), 8);
  EXPECT_EQ(slm_model_n_head_kv(model.m), 4);
  const Model cpp = load_model(fixture(kStories260K));
  EXPECT_EQ(slm_model_n_ctx_train(model.m), cpp.config.context_length);  // 2048 in this GGUF
  EXPECT_EQ(slm_model_bos(model.m), 1);
  EXPECT_EQ(slm_model_eos(model.m), 2);
  EXPECT_TRUE(slm_model_is_eog(model.m, 2));
  EXPECT_FALSE(slm_model_is_eog(model.m, 1));
  EXPECT_EQ(slm_model_n_params(model.m), 260032u);  // the fixtures README
  // 48 F32 tensors used in place: every byte of the data section but the alignment padding.
  EXPECT_EQ(slm_model_tensor_bytes(model.m), cpp.n_bytes());
  // F32 weights are not repacked; the copies are the norm weights: 2 per layer and the output
  // norm, 64 floats each.
  EXPECT_EQ(slm_model_heap_bytes(model.m), (5u * 2 + 1) * 64 * sizeof(float));
  // The tensors point into the caller's blob.
  EXPECT_EQ(cpp.tensors().size(), 48u);

  char piece[8];
  EXPECT_EQ(slm_token_to_piece(model.m, 1, piece, 8), 0);  // BOS is not text
  const int32_t n = slm_token_to_piece(model.m, 403, piece, 8);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(piece, n), Tokenizer(cpp.vocab).token_bytes(403));
  EXPECT_EQ(slm_token_to_piece(model.m, 403, piece, 0), -n);
  EXPECT_EQ(slm_token_to_piece(model.m, 512, piece, 8), SLM_ERROR_COUNT);
  EXPECT_NE(std::string(slm_last_error()).find("512"), std::string::npos) << slm_last_error();
}

TEST(CApi, MisuseIsAStatusWithAMessage) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  ModelHandle model;
  slm_model* none = nullptr;
  EXPECT_EQ(slm_model_open_memory(nullptr, 10, &none), SLM_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(slm_model_open_memory(blob.data() + 4, blob.size() - 4, &none),
            SLM_ERR_INVALID_ARGUMENT);  // misaligned
  EXPECT_EQ(slm_model_open_file("/nonexistent/model.gguf", &none), SLM_ERR_IO);
  EXPECT_NE(std::string(slm_last_error()).find("/nonexistent/model.gguf"), std::string::npos);
  EXPECT_EQ(none, nullptr);
  ASSERT_EQ(slm_model_open_memory(blob.data(), blob.size(), &model.m), SLM_OK);

  slm_session_params p = slm_session_default_params();
  p.n_ctx = -1;
  EXPECT_EQ(slm_session_arena_bytes(model.m, &p), 0u);
  slm_session* s = nullptr;
  EXPECT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_ERR_INVALID_ARGUMENT);
  p = slm_session_default_params();
  p.kv_type = 7;
  EXPECT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_ERR_INVALID_ARGUMENT);
  p = slm_session_default_params();
  p.n_ctx = 8;
  ASSERT_EQ(slm_session_create(model.m, &p, nullptr, 0, &s), SLM_OK);
  int32_t id = -1;
  EXPECT_EQ(slm_sample(s, &id), SLM_ERR_INVALID_ARGUMENT);  // nothing decoded yet
  const int32_t bad[] = {1, 512};
  EXPECT_EQ(slm_decode(s, bad, 2, nullptr), SLM_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(slm_last_error()).find("512"), std::string::npos) << slm_last_error();
  EXPECT_EQ(slm_session_n_past(s), 0);
  const int32_t nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(slm_decode(s, nine, 9, nullptr), SLM_ERR_INVALID_ARGUMENT);  // n_ctx is 8
  EXPECT_EQ(slm_session_n_past(s), 0);
  EXPECT_EQ(slm_decode(s, nine, 8, nullptr), SLM_OK);
  EXPECT_EQ(slm_decode(s, nine, 1, nullptr), SLM_ERR_INVALID_ARGUMENT);
  slm_session_free(s);

  int32_t out[4];
  const int32_t need = slm_tokenize(model.m, "Once upon a time", 16, 1, out, 0);
  EXPECT_LT(need, -1);
  EXPECT_EQ(slm_tokenize(model.m, "Once upon a time", 16, 1, out, 4), need);  // still too small
  EXPECT_EQ(slm_tokenize(nullptr, "x", 1, 1, out, 4), SLM_ERROR_COUNT);
  EXPECT_EQ(slm_tokenize(model.m, "", 0, 0, out, 4), 0);
}

// Truncated anywhere, the blob is refused with a message naming where; flipped bytes never crash.
TEST(CApi, TruncatedOrCorruptBlobsAreBadModels) {
  SLMKIT_REQUIRE_FIXTURES();
  const Blob blob(fixture(kStories260K));
  std::vector<size_t> cuts = {
      0, 3, 4, 8, 16, 24, 100, 1000, 10000, blob.size() / 2, blob.size() - 1};
  for (size_t cut : cuts) {
    slm_model* m = nullptr;
    EXPECT_EQ(slm_model_open_memory(blob.data(), cut, &m), SLM_ERR_BAD_MODEL) << cut;
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(slm_last_error()).find("<memory>"), std::string::npos)
        << cut << ": " << slm_last_error();
  }
  std::mt19937 rng(19);
  std::vector<std::byte> copy(blob.bytes.size() + 64);
  std::byte* base = copy.data() + (64 - reinterpret_cast<uintptr_t>(copy.data()) % 64) % 64;
  int opened = 0, refused = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::memcpy(base, blob.data(), blob.size());
    for (int k = 0; k < 4; ++k) {
      // Mostly the header and key-values, where the structure is.
      const size_t at = rng() % (trial % 2 ? 30000 : blob.size());
      base[at] = static_cast<std::byte>(rng());
    }
    slm_model* m = nullptr;
    const slm_status st = slm_model_open_memory(base, blob.size(), &m);
    if (st == SLM_OK) {
      ++opened;
      slm_session* s = nullptr;
      slm_session_params p = slm_session_default_params();
      p.n_ctx = 8;
      if (slm_session_create(m, &p, nullptr, 0, &s) == SLM_OK) {
        const int32_t prompt[] = {1, 2};
        (void)slm_decode(s, prompt, 2, nullptr);
        slm_session_free(s);
      }
      slm_model_free(m);
    } else {
      ++refused;
      EXPECT_TRUE(st == SLM_ERR_BAD_MODEL || st == SLM_ERR_UNSUPPORTED) << slm_status_name(st);
      EXPECT_GT(std::strlen(slm_last_error()), 0u);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(opened, 0);  // flips inside tensor data leave a valid file
}

std::vector<std::string> g_log;
void collect(int level, const char* message, void*) {
  g_log.push_back(std::to_string(level) + " " + message);
}

TEST(CApi, LogSinkSeesFailuresAndOpens) {
  SLMKIT_REQUIRE_FIXTURES();
  slm_set_log_sink(collect, nullptr);
  slm_model* m = nullptr;
  slm_model* none = nullptr;
  EXPECT_EQ(slm_model_open_file(fixture(kStories260K).c_str(), &m), SLM_OK);
  EXPECT_EQ(slm_model_open_file("/nonexistent.gguf", &none), SLM_ERR_IO);
  slm_set_log_sink(nullptr, nullptr);
  ASSERT_EQ(g_log.size(), 2u);
  EXPECT_EQ(g_log[0].substr(0, 2), "1 ");
  EXPECT_NE(g_log[0].find("llama"), std::string::npos) << g_log[0];
  EXPECT_EQ(g_log[1], std::string("0 ") + slm_last_error());
  slm_model_free(m);
}

}  // namespace
}  // namespace slmkit
