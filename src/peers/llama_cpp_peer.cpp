// Models, contexts and quantization over the dlopen'ed llama.cpp (see llama_cpp_runtime.cpp for
// how it is opened). Only built where the build found llama.cpp's headers; llama_cpp_absent.cpp
// stands in otherwise.
#if SLMKIT_HAVE_LLAMA_CPP

#include "peers/llama_cpp_peer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <random>
#include <thread>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "peers/llama_cpp_api.h"

namespace slmkit::peers {

namespace fs = std::filesystem;
using detail::llama_cpp_api;
using detail::LlamaCppApi;
using detail::LlamaCppErrorCapture;

struct LlamaCppModel::Impl {
  const LlamaCppApi* api = nullptr;
  llama_model* model = nullptr;
  const llama_vocab* vocab = nullptr;
  fs::path path;
  bool vocab_only = false;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (model) api->llama_model_free(model);
  }

  void check_token(LlamaToken token, std::string_view what) const {
    const int32_t n_vocab = api->llama_vocab_n_tokens(vocab);
    if (token < 0 || token >= n_vocab) {
      fail_invalid("{}: token id {} is outside the vocabulary [0, {}) of {}", what, token, n_vocab,
                   path.string());
    }
  }
};

namespace {

// llama.cpp's string getters follow snprintf: they return the full length even when the buffer
// was too small, or a negative value when there is nothing to return.
template <typename Getter>
std::optional<std::string> read_string(Getter&& get) {
  std::string buffer(256, '\0');
  int32_t n = get(buffer.data(), buffer.size());
  if (n < 0) return std::nullopt;
  if (static_cast<size_t>(n) >= buffer.size()) {
    buffer.assign(static_cast<size_t>(n) + 1, '\0');
    n = get(buffer.data(), buffer.size());
    if (n < 0) return std::nullopt;
  }
  buffer.resize(std::min(static_cast<size_t>(n), buffer.size() - 1));
  return buffer;
}

int32_t checked_length(size_t n, std::string_view what) {
  if (n > static_cast<size_t>(INT32_MAX)) {
    fail_invalid("{}: {} items exceed llama.cpp's int32 limit", what, n);
  }
  return static_cast<int32_t>(n);
}

const char* decode_status(int32_t rc) {
  switch (rc) {
    case 1:
      return "no KV cache slot for the batch (context full)";
    case 2:
      return "aborted";
    case -1:
      return "invalid input batch";
    default:
      return "fatal error";
  }
}

void fsync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_io("{}: cannot reopen to fsync the quantized output", path.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail_io("{}: fsync failed", path.string());
}

}  // namespace

// ---- model ----

LlamaCppModel LlamaCppModel::load(const fs::path& gguf, const LlamaCppModelOptions& options) {
  const LlamaCppApi& api = llama_cpp_api();
  std::error_code ec;
  if (!fs::is_regular_file(gguf, ec))
    fail_io("{}: no such file to load into llama.cpp", gguf.string());

  llama_model_params params = api.llama_model_default_params();
  params.n_gpu_layers = 0;
  params.load_mode = options.use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
  params.vocab_only = options.vocab_only;
  params.check_tensors = options.check_tensors;

  LlamaCppErrorCapture capture;
  llama_model* model = api.llama_model_load_from_file(gguf.c_str(), params);
  if (!model) {
    fail_invalid("{}: llama.cpp could not load it{}; {}", gguf.string(),
                 options.vocab_only ? " (vocabulary only)" : "", capture.explain());
  }
  auto impl = std::make_shared<Impl>();
  impl->api = &api;
  impl->model = model;
  impl->vocab = api.llama_model_get_vocab(model);
  impl->path = gguf;
  impl->vocab_only = options.vocab_only;
  return LlamaCppModel(std::move(impl));
}

LlamaCppModel LlamaCppModel::load_vocab(const fs::path& gguf) {
  LlamaCppModelOptions options;
  options.vocab_only = true;
  return load(gguf, options);
}

const fs::path& LlamaCppModel::path() const {
  return impl_->path;
}

bool LlamaCppModel::vocab_only() const {
  return impl_->vocab_only;
}

LlamaCppModelInfo LlamaCppModel::info() const {
  const LlamaCppApi& api = *impl_->api;
  const llama_model* m = impl_->model;
  const llama_vocab* v = impl_->vocab;
  LlamaCppModelInfo info;
  info.architecture = metadata("general.architecture").value_or("");
  info.description = read_string([&](char* buf, size_t n) {
                       return api.llama_model_desc(m, buf, n);
                     }).value_or("");
  info.n_params = api.llama_model_n_params(m);
  info.size_bytes = api.llama_model_size(m);
  const llama_ftype ftype = api.llama_model_ftype(m);
  info.ftype = static_cast<int32_t>(ftype);
  if (const char* name = api.llama_ftype_name(ftype)) info.ftype_name = name;
  info.n_vocab = api.llama_vocab_n_tokens(v);
  info.n_ctx_train = api.llama_model_n_ctx_train(m);
  info.n_embd = api.llama_model_n_embd(m);
  info.n_layer = api.llama_model_n_layer(m);
  info.n_head = api.llama_model_n_head(m);
  info.n_head_kv = api.llama_model_n_head_kv(m);
  info.bos = api.llama_vocab_bos(v);
  info.eos = api.llama_vocab_eos(v);
  info.add_bos = api.llama_vocab_get_add_bos(v);
  info.add_eos = api.llama_vocab_get_add_eos(v);
  return info;
}

std::optional<std::string> LlamaCppModel::metadata(const std::string& key) const {
  return read_string([&](char* buf, size_t n) {
    return impl_->api->llama_model_meta_val_str(impl_->model, key.c_str(), buf, n);
  });
}

int32_t LlamaCppModel::n_vocab() const {
  return impl_->api->llama_vocab_n_tokens(impl_->vocab);
}

bool LlamaCppModel::is_end_of_generation(LlamaToken token) const {
  impl_->check_token(token, "is_end_of_generation");
  return impl_->api->llama_vocab_is_eog(impl_->vocab, token);
}

std::vector<LlamaToken> LlamaCppModel::tokenize(std::string_view text, bool add_special,
                                                bool parse_special) const {
  const LlamaCppApi& api = *impl_->api;
  const int32_t text_len = checked_length(text.size(), "tokenize text");
  // At most one token per byte (byte fallback), plus BOS/EOS and a space prefix; llama.cpp says
  // how many it needs when that guess is short anyway.
  std::vector<LlamaToken> tokens(text.size() + 8);
  auto call = [&] {
    return api.llama_tokenize(impl_->vocab, text.data(), text_len, tokens.data(),
                              checked_length(tokens.size(), "tokenize output"), add_special,
                              parse_special);
  };
  int32_t n = call();
  if (n < 0 && n != INT32_MIN) {
    tokens.resize(static_cast<size_t>(-static_cast<int64_t>(n)));
    n = call();
  }
  if (n < 0) {
    fail_invalid("{}: llama_tokenize failed on {} bytes of text (returned {})",
                 impl_->path.string(), text.size(), n);
  }
  tokens.resize(static_cast<size_t>(n));
  return tokens;
}

std::string LlamaCppModel::token_to_piece(LlamaToken token, bool special) const {
  impl_->check_token(token, "token_to_piece");
  std::string piece(32, '\0');
  auto call = [&] {
    return impl_->api->llama_token_to_piece(impl_->vocab, token, piece.data(),
                                            static_cast<int32_t>(piece.size()), 0, special);
  };
  int32_t n = call();
  if (n < 0) {
    piece.assign(static_cast<size_t>(-static_cast<int64_t>(n)), '\0');
    n = call();
  }
  if (n < 0) fail_invalid("{}: llama_token_to_piece({}) failed", impl_->path.string(), token);
  piece.resize(static_cast<size_t>(n));
  return piece;
}

std::string LlamaCppModel::detokenize(std::span<const LlamaToken> tokens, bool remove_special,
                                      bool unparse_special) const {
  for (LlamaToken t : tokens) impl_->check_token(t, "detokenize");
  const int32_t n_tokens = checked_length(tokens.size(), "detokenize tokens");
  std::string text(tokens.size() * 8 + 16, '\0');
  auto call = [&] {
    return impl_->api->llama_detokenize(impl_->vocab, tokens.data(), n_tokens, text.data(),
                                        checked_length(text.size(), "detokenize output"),
                                        remove_special, unparse_special);
  };
  int32_t n = call();
  if (n < 0 && n != INT32_MIN) {
    text.assign(static_cast<size_t>(-static_cast<int64_t>(n)), '\0');
    n = call();
  }
  if (n < 0) {
    fail_invalid("{}: llama_detokenize failed on {} tokens (returned {})", impl_->path.string(),
                 tokens.size(), n);
  }
  text.resize(static_cast<size_t>(n));
  return text;
}

// ---- context ----

struct LlamaCppContext::Impl {
  const LlamaCppApi* api = nullptr;
  std::shared_ptr<LlamaCppModel::Impl> model;  // keeps the weights alive as long as the context
  llama_context* ctx = nullptr;
  ggml_threadpool* threadpool = nullptr;
  uint32_t n_ctx = 0;
  uint32_t n_batch = 0;
  int n_threads = 0;
  int32_t n_vocab = 0;
  // What a llama_batch points at, sized n_batch up front so that decoding allocates nothing.
  std::vector<llama_token> tokens;
  std::vector<llama_pos> positions;
  std::vector<int32_t> n_seq_ids;
  std::vector<llama_seq_id> seq_id_values;  // all 0: one sequence
  std::vector<llama_seq_id*> seq_ids;
  std::vector<int8_t> outputs;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (ctx) api->llama_free(ctx);
    if (threadpool) api->ggml_threadpool_free(threadpool);
  }

  void clear() { api->llama_memory_clear(api->llama_get_memory(ctx), false); }

  void check_tokens(std::span<const LlamaToken> toks, std::string_view what) const {
    for (LlamaToken t : toks) model->check_token(t, what);
  }

  // One llama_decode of toks at positions pos0.. of sequence 0; outputs for every token, or for
  // the last one only.
  void decode(std::span<const LlamaToken> toks, llama_pos pos0, bool all_outputs) {
    const size_t n = toks.size();
    for (size_t i = 0; i < n; ++i) {
      tokens[i] = toks[i];
      positions[i] = pos0 + static_cast<llama_pos>(i);
      n_seq_ids[i] = 1;
      seq_ids[i] = &seq_id_values[i];
      outputs[i] = static_cast<int8_t>(all_outputs || i + 1 == n);
    }
    llama_batch batch{};
    batch.n_tokens = static_cast<int32_t>(n);
    batch.token = tokens.data();
    batch.embd = nullptr;
    batch.pos = positions.data();
    batch.n_seq_id = n_seq_ids.data();
    batch.seq_id = seq_ids.data();
    batch.logits = outputs.data();
    LlamaCppErrorCapture capture;
    const int32_t rc = api->llama_decode(ctx, batch);
    if (rc != 0) {
      fail_invalid("{}: llama_decode of {} tokens at position {} returned {} ({}); {}",
                   model->path.string(), n, pos0, rc, decode_status(rc), capture.explain());
    }
  }

  const float* logits_at(int32_t i) const {
    const float* row = api->llama_get_logits_ith(ctx, i);
    if (!row) fail(ErrorKind::internal, "llama_get_logits_ith({}) returned no logits", i);
    return row;
  }
};

LlamaCppContext::LlamaCppContext(const LlamaCppModel& model, const LlamaCppContextOptions& options)
    : impl_(std::make_unique<Impl>()) {
  const std::shared_ptr<LlamaCppModel::Impl>& m = model.impl_;
  if (m->vocab_only) {
    fail_invalid("{}: loaded with the vocabulary only; a llama.cpp context needs the weights",
                 m->path.string());
  }
  if (options.n_ctx == 0 || options.n_batch == 0) {
    fail_invalid("llama.cpp context for {}: n_ctx ({}) and n_batch ({}) must be positive",
                 m->path.string(), options.n_ctx, options.n_batch);
  }
  const LlamaCppApi& api = *m->api;
  Impl& impl = *impl_;
  impl.api = &api;
  impl.model = m;
  impl.n_threads = options.n_threads > 0
                       ? options.n_threads
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  llama_context_params params = api.llama_context_default_params();
  params.n_ctx = options.n_ctx;
  params.n_batch = options.n_batch;
  params.n_ubatch = options.n_ubatch > 0 ? options.n_ubatch : std::min(options.n_batch, 512u);
  params.n_seq_max = 1;
  params.n_threads = impl.n_threads;
  params.n_threads_batch = impl.n_threads;
  params.no_perf = true;
  if (options.kv_cache_f32) {
    params.type_k = GGML_TYPE_F32;
    params.type_v = GGML_TYPE_F32;
  }
  switch (options.flash_attention) {
    case LlamaCppFlashAttention::automatic:
      params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO;
      break;
    case LlamaCppFlashAttention::disabled:
      params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
      break;
    case LlamaCppFlashAttention::enabled:
      params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
      break;
  }

  {
    LlamaCppErrorCapture capture;
    impl.ctx = api.llama_init_from_model(m->model, params);
    if (!impl.ctx) {
      fail_invalid("{}: llama.cpp could not make a context (n_ctx {}, n_batch {}); {}",
                   m->path.string(), options.n_ctx, options.n_batch, capture.explain());
    }
  }
  if (options.own_threadpool && api.ggml_threadpool_new && api.ggml_threadpool_free) {
    ggml_threadpool_params tpp = api.ggml_threadpool_params_default(impl.n_threads);
    impl.threadpool = api.ggml_threadpool_new(&tpp);
    if (!impl.threadpool) {
      fail(ErrorKind::internal, "ggml_threadpool_new({} threads) failed", impl.n_threads);
    }
    api.llama_attach_threadpool(impl.ctx, impl.threadpool, nullptr);
  }
  impl.n_ctx = api.llama_n_ctx(impl.ctx);
  impl.n_batch = api.llama_n_batch(impl.ctx);
  impl.n_vocab = api.llama_vocab_n_tokens(m->vocab);
  impl.tokens.resize(impl.n_batch);
  impl.positions.resize(impl.n_batch);
  impl.n_seq_ids.resize(impl.n_batch);
  impl.seq_id_values.assign(impl.n_batch, 0);
  impl.seq_ids.resize(impl.n_batch);
  impl.outputs.resize(impl.n_batch);
}

LlamaCppContext::~LlamaCppContext() = default;
LlamaCppContext::LlamaCppContext(LlamaCppContext&&) noexcept = default;
LlamaCppContext& LlamaCppContext::operator=(LlamaCppContext&&) noexcept = default;

uint32_t LlamaCppContext::n_ctx() const {
  return impl_->n_ctx;
}
uint32_t LlamaCppContext::n_batch() const {
  return impl_->n_batch;
}
int LlamaCppContext::n_threads() const {
  return impl_->n_threads;
}

void LlamaCppContext::clear() {
  impl_->clear();
}

LlamaCppLogits LlamaCppContext::logits(std::span<const LlamaToken> tokens) {
  Impl& impl = *impl_;
  if (tokens.empty() || tokens.size() > impl.n_batch || tokens.size() > impl.n_ctx) {
    fail_invalid("llama.cpp logits: {} tokens must be in one batch: 1..min(n_batch {}, n_ctx {})",
                 tokens.size(), impl.n_batch, impl.n_ctx);
  }
  impl.check_tokens(tokens, "llama.cpp logits");
  impl.clear();
  impl.decode(tokens, 0, true);

  LlamaCppLogits out;
  out.n_tokens = static_cast<int32_t>(tokens.size());
  out.n_vocab = impl.n_vocab;
  out.values.resize(tokens.size() * static_cast<size_t>(impl.n_vocab));
  for (int32_t i = 0; i < out.n_tokens; ++i) {
    const float* row = impl.logits_at(i);
    std::copy(row, row + impl.n_vocab,
              out.values.begin() + static_cast<ptrdiff_t>(i) * impl.n_vocab);
  }
  return out;
}

std::vector<LlamaToken> LlamaCppContext::generate_greedy(std::span<const LlamaToken> prompt,
                                                         int32_t n_new, bool stop_at_eog) {
  Impl& impl = *impl_;
  if (prompt.empty() || n_new < 0 ||
      prompt.size() + static_cast<size_t>(std::max(n_new, 1)) - 1 > impl.n_ctx) {
    fail_invalid(
        "llama.cpp greedy: prompt of {} tokens + {} new must be non-empty and fit n_ctx {}",
        prompt.size(), n_new, impl.n_ctx);
  }
  impl.check_tokens(prompt, "llama.cpp greedy prompt");
  impl.clear();
  size_t done = 0;
  while (done < prompt.size()) {
    const size_t n = std::min<size_t>(prompt.size() - done, impl.n_batch);
    impl.decode(prompt.subspan(done, n), static_cast<llama_pos>(done), false);
    done += n;
  }
  std::vector<LlamaToken> generated;
  generated.reserve(static_cast<size_t>(n_new));
  llama_pos position = static_cast<llama_pos>(prompt.size());
  for (int32_t i = 0; i < n_new; ++i) {
    const float* row = impl.logits_at(-1);
    const LlamaToken next =
        static_cast<LlamaToken>(std::max_element(row, row + impl.n_vocab) - row);
    generated.push_back(next);
    if (stop_at_eog && impl.api->llama_vocab_is_eog(impl.model->vocab, next)) break;
    if (i + 1 == n_new) break;
    const LlamaToken one[1] = {next};
    impl.decode(one, position++, false);
  }
  return generated;
}

LlamaCppTiming LlamaCppContext::bench_prompt(int32_t n_prompt,
                                             const LlamaCppBenchOptions& options) {
  Impl& impl = *impl_;
  if (n_prompt <= 0 || static_cast<uint32_t>(n_prompt) > impl.n_ctx || options.reps <= 0) {
    fail_invalid("llama.cpp pp bench: n_prompt {} must be in 1..n_ctx {}, reps {} positive",
                 n_prompt, impl.n_ctx, options.reps);
  }
  const llama_vocab* vocab = impl.model->vocab;
  const bool add_bos = impl.api->llama_vocab_get_add_bos(vocab);
  const LlamaToken bos = impl.api->llama_vocab_bos(vocab);
  std::mt19937 rng(options.seed);
  std::vector<LlamaToken> chunk(impl.n_batch);
  auto run = [&] {
    int32_t processed = 0;
    while (processed < n_prompt) {
      const int32_t n = std::min<int32_t>(n_prompt - processed, static_cast<int32_t>(impl.n_batch));
      for (int32_t i = 0; i < n; ++i) chunk[i] = static_cast<LlamaToken>(rng() % impl.n_vocab);
      if (processed == 0 && add_bos) chunk[0] = bos;
      impl.decode(std::span<const LlamaToken>(chunk.data(), n), processed, false);
      processed += n;
    }
    impl.api->llama_synchronize(impl.ctx);
  };
  LlamaCppTiming timing;
  timing.n_tokens = n_prompt;
  if (options.warmup) {
    impl.clear();
    run();
  }
  for (int r = 0; r < options.reps; ++r) {
    impl.clear();
    const auto start = std::chrono::steady_clock::now();
    run();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    timing.samples_ns.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  }
  return timing;
}

LlamaCppTiming LlamaCppContext::bench_generate(int32_t n_gen, const LlamaCppBenchOptions& options) {
  Impl& impl = *impl_;
  if (n_gen <= 0 || static_cast<uint32_t>(n_gen) > impl.n_ctx || options.reps <= 0) {
    fail_invalid("llama.cpp tg bench: n_gen {} must be in 1..n_ctx {}, reps {} positive", n_gen,
                 impl.n_ctx, options.reps);
  }
  const llama_vocab* vocab = impl.model->vocab;
  const bool add_bos = impl.api->llama_vocab_get_add_bos(vocab);
  const LlamaToken bos = impl.api->llama_vocab_bos(vocab);
  std::mt19937 rng(options.seed);
  auto run = [&](int32_t n) {
    LlamaToken token[1] = {add_bos ? bos : static_cast<LlamaToken>(rng() % impl.n_vocab)};
    for (int32_t i = 0; i < n; ++i) {
      impl.decode(token, i, false);
      impl.api->llama_synchronize(impl.ctx);
      token[0] = static_cast<LlamaToken>(rng() % impl.n_vocab);
    }
  };
  LlamaCppTiming timing;
  timing.n_tokens = n_gen;
  if (options.warmup) {
    impl.clear();
    run(1);
  }
  for (int r = 0; r < options.reps; ++r) {
    impl.clear();
    const auto start = std::chrono::steady_clock::now();
    run(n_gen);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    timing.samples_ns.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  }
  return timing;
}

// ---- quantization ----

void LlamaCppPeer::quantize(const fs::path& input, const fs::path& output,
                            const LlamaCppQuantizeOptions& options) {
  const LlamaCppApi& api = llama_cpp_api();
  std::error_code ec;
  if (!fs::is_regular_file(input, ec)) fail_io("{}: no such file to quantize", input.string());
  if (quant::llama_ftype_name(options.ftype).empty()) {
    fail_invalid("llama.cpp quantize {}: ftype {} is not a llama_ftype this adapter knows",
                 input.string(), options.ftype);
  }
  llama_model_quantize_params params = api.llama_model_quantize_default_params();
  params.nthread = options.n_threads;
  params.ftype = static_cast<llama_ftype>(options.ftype);
  params.allow_requantize = options.allow_requantize;
  params.quantize_output_tensor = options.quantize_output_tensor;
  params.pure = options.pure;
  std::vector<llama_model_imatrix_data> imatrix;  // terminated by a null name
  if (!options.imatrix.empty()) {
    for (const auto& [name, values] : options.imatrix)
      imatrix.push_back({name.c_str(), values.data(), values.size()});
    imatrix.push_back({nullptr, nullptr, 0});
    params.imatrix = imatrix.data();
  }

  const fs::path temporary = temporary_name(output);
  LlamaCppErrorCapture capture;
  const uint32_t rc = api.llama_model_quantize(input.c_str(), temporary.c_str(), &params);
  if (rc != 0) {
    fs::remove(temporary, ec);
    fail_invalid("llama_model_quantize {} -> {} as {} failed (returned {}); {}", input.string(),
                 output.string(), quant::llama_ftype_name(options.ftype), rc, capture.explain());
  }
  fsync_file(temporary);
  fs::rename(temporary, output, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(temporary, ec);
    fail_io("{}: cannot rename the quantized output into place: {}", output.string(), why);
  }
}

}  // namespace slmkit::peers

#endif  // SLMKIT_HAVE_LLAMA_CPP
