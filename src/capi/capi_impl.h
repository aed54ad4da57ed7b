// The C API's boundary: the structs behind its opaque handles, and `guarded`, which every entry
// point that can fail runs its body through, turning whatever is thrown into a status and a
// thread-local message (no exception crosses into C).
#pragma once

#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>

#include "core/mapped_file.h"
#include "engine/sampling.h"
#include "engine/session_impl.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/slmkit.h"
#include "slmkit/tokenizer.h"

struct slm_model {
  std::shared_ptr<const slmkit::MappedFile> file;  // slm_model_open_file: the tensors' mapping
  std::optional<slmkit::Engine> engine;
  std::optional<slmkit::Tokenizer> tokenizer;  // absent: the GGUF has no vocabulary we can use
  std::string no_tokenizer;                    // why it is absent
  std::string arch;
  std::string name;
};

// Everything a session uses, placed at the start of its arena; its constructor carves the rest
// (the engine session's buffers and thread handles, then the sampler's scratch) from the same
// arena, so a measuring arena run through it gives slm_session_arena_bytes exactly.
struct slm_session {
  slm_session(const slm_model& model, const slm_session_params& params, slmkit::Arena& arena);

  const slm_model* model;
  slmkit::ThreadHooks hooks;  // the host's, copied; unused when it gave none
  slmkit::Session::Impl engine;
  slmkit::SamplerParams sampler;
  // In the arena rather than in this struct (2.5 KB of state): create measures with a struct
  // on the stack, which a kernel host's small stack must hold.
  std::mt19937_64* rng;
  slmkit::engine::AlignedBuffer<int32_t> tokens;  // [n_ctx]: the id at each position
  slmkit::engine::AlignedBuffer<float> sample_logits;
  slmkit::engine::AlignedBuffer<slmkit::engine::Candidate> candidates;
  slmkit::engine::AlignedBuffer<int32_t> penalized;  // [n_ctx]
  bool have_logits = false;                          // a decode since create, reset or truncate
  void* heap_arena = nullptr;  // the arena the library allocated when the caller gave none
};

namespace slmkit::capi {

// Records a failure for slm_last_error() and the log sink; returns `status`.
slm_status fail_with(slm_status status, const char* message) noexcept;

// An info line for the log sink, printf-style into a stack buffer (cut at 511 bytes): logging
// allocates nothing, and costs nothing without a sink.
void log_info(const char* format, ...) noexcept __attribute__((format(printf, 1, 2)));

slm_status status_of(ErrorKind kind, slm_status invalid_input_as) noexcept;

// Runs body(); any exception becomes a status and message. invalid_input_as: what an
// Error(invalid_input) means for this call (SLM_ERR_BAD_MODEL while reading a model).
template <typename Body>
slm_status guarded(slm_status invalid_input_as, Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    return fail_with(status_of(e.kind(), invalid_input_as), e.what());
  } catch (const std::bad_alloc&) {
    return fail_with(SLM_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail_with(SLM_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail_with(SLM_ERR_INTERNAL, "unknown exception");
  }
}

}  // namespace slmkit::capi
