// The llama.cpp / ggml C functions the peer adapter calls, resolved with dlsym. Their types come
// from the headers of the very release whose binaries are opened (third_party/peers/llama.cpp), so
// a changed signature fails to compile instead of crashing. Only the adapter's own .cpp files
// include this, and only when the build found those headers (SLMKIT_HAVE_LLAMA_CPP).
#pragma once

#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>
#include <llama.h>

#include <string>

namespace slmkit::peers::detail {

// Every symbol is required: a binary that lacks one is reported as "not available".
#define SLMKIT_LLAMA_CPP_FUNCTIONS(X)    \
  X(llama_version)                       \
  X(llama_print_system_info)             \
  X(llama_log_set)                       \
  X(llama_backend_init)                  \
  X(llama_model_default_params)          \
  X(llama_context_default_params)        \
  X(llama_model_quantize_default_params) \
  X(llama_model_load_from_file)          \
  X(llama_model_free)                    \
  X(llama_model_quantize)                \
  X(llama_model_get_vocab)               \
  X(llama_model_desc)                    \
  X(llama_model_size)                    \
  X(llama_model_n_params)                \
  X(llama_model_ftype)                   \
  X(llama_ftype_name)                    \
  X(llama_model_n_ctx_train)             \
  X(llama_model_n_embd)                  \
  X(llama_model_n_layer)                 \
  X(llama_model_n_head)                  \
  X(llama_model_n_head_kv)               \
  X(llama_model_meta_val_str)            \
  X(llama_vocab_n_tokens)                \
  X(llama_vocab_bos)                     \
  X(llama_vocab_eos)                     \
  X(llama_vocab_get_add_bos)             \
  X(llama_vocab_get_add_eos)             \
  X(llama_vocab_is_eog)                  \
  X(llama_tokenize)                      \
  X(llama_token_to_piece)                \
  X(llama_detokenize)                    \
  X(llama_init_from_model)               \
  X(llama_free)                          \
  X(llama_n_ctx)                         \
  X(llama_n_batch)                       \
  X(llama_n_threads)                     \
  X(llama_attach_threadpool)             \
  X(llama_get_memory)                    \
  X(llama_memory_clear)                  \
  X(llama_decode)                        \
  X(llama_synchronize)                   \
  X(llama_get_logits_ith)                \
  X(ggml_backend_load_all_from_path)     \
  X(ggml_backend_load)                   \
  X(ggml_backend_reg_by_name)            \
  X(ggml_backend_reg_get_proc_address)   \
  X(ggml_backend_reg_dev_count)          \
  X(ggml_backend_reg_dev_get)            \
  X(ggml_backend_dev_description)        \
  X(ggml_threadpool_params_default)

struct LlamaCppApi {
#define SLMKIT_LLAMA_CPP_POINTER(name) decltype(&::name) name = nullptr;
  SLMKIT_LLAMA_CPP_FUNCTIONS(SLMKIT_LLAMA_CPP_POINTER)
#undef SLMKIT_LLAMA_CPP_POINTER
  // Exported by the CPU backend through its registry, not by libggml; null if it offers none.
  decltype(&::ggml_threadpool_new) ggml_threadpool_new = nullptr;
  decltype(&::ggml_threadpool_free) ggml_threadpool_free = nullptr;
};

// Loads the library on first use; throws Error(unsupported) with the reason when it is absent.
const LlamaCppApi& llama_cpp_api();

// Collects what llama.cpp logs at error level on this thread while the object lives, so that a
// failed call (which returns only NULL or a code) can say why.
class LlamaCppErrorCapture {
 public:
  LlamaCppErrorCapture();
  ~LlamaCppErrorCapture();
  LlamaCppErrorCapture(const LlamaCppErrorCapture&) = delete;
  LlamaCppErrorCapture& operator=(const LlamaCppErrorCapture&) = delete;
  // "llama.cpp logged: ..." or "llama.cpp logged no error".
  std::string explain() const;

 private:
  bool outer_ = false;
};

}  // namespace slmkit::peers::detail
