// Models: a GGUF from a caller's buffer (tensors used in place) or a mapped file, the engine and
// tokenizer over it, metadata, and text <-> ids.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <span>

#include "capi/capi_impl.h"
#include "core/fail.h"
#include "engine/engine_impl.h"
#include "formats/gguf.h"
#include "formats/model_io.h"
#include "kernels/isa.h"

namespace slmkit::capi {
namespace {

slm_status open_gguf(std::span<const std::byte> bytes, const std::string& where,
                     std::shared_ptr<const MappedFile> file, slm_model** out) {
  // The owner of a caller's blob is the caller: the tensors hold no reference to it.
  const gguf::File parsed = gguf::parse(bytes, where, file);
  Model model = model_from_gguf(parsed);
  auto m = std::make_unique<slm_model>();
  m->file = std::move(file);
  m->arch = model.config.arch;
  m->name = model.config.name;
  if (model.vocab.empty()) {
    m->no_tokenizer = where + ": the model carries no vocabulary";
  } else {
    try {
      m->tokenizer.emplace(std::move(model.vocab));  // the engine never reads it
    } catch (const Error& e) {
      // A vocabulary slmkit cannot tokenize leaves the model usable with ids.
      if (e.kind() != ErrorKind::unsupported) throw;
      m->no_tokenizer = e.what();
    }
  }
  m->engine.emplace(std::move(model));
  // The kernels' instruction-set choice (SLMKIT_ISA) is made now, not on the first decode,
  // which must not allocate.
  (void)kernels::use_scalar();
  log_info("%s: %s model '%s', %zu tensors, %llu bytes used in place, %llu bytes copied",
           where.c_str(), m->arch.c_str(), m->name.c_str(), m->engine->model().tensors().size(),
           static_cast<unsigned long long>(slm_model_tensor_bytes(m.get())),
           static_cast<unsigned long long>(slm_model_heap_bytes(m.get())));
  *out = m.release();
  return SLM_OK;
}

const ModelConfig* config_of(const slm_model* model) {
  return model ? &model->engine->config() : nullptr;
}

int32_t clamp_i32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN + 1, INT32_MAX));
}

}  // namespace
}  // namespace slmkit::capi

using slmkit::capi::config_of;
using slmkit::capi::fail_with;
using slmkit::capi::guarded;

extern "C" {

slm_status slm_model_open_memory(const void* data, size_t size, slm_model** out) {
  if (!out) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_model_open_memory: out is NULL");
  *out = nullptr;
  if (!data) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_model_open_memory: data is NULL");
  if (reinterpret_cast<uintptr_t>(data) % SLM_MODEL_ALIGNMENT != 0) {
    return fail_with(SLM_ERR_INVALID_ARGUMENT,
                     "slm_model_open_memory: data must start at a multiple of "
                     "SLM_MODEL_ALIGNMENT (16) bytes; tensors are read in place");
  }
  return guarded(SLM_ERR_BAD_MODEL, [&] {
    return slmkit::capi::open_gguf({static_cast<const std::byte*>(data), size}, "<memory>", nullptr,
                                   out);
  });
}

slm_status slm_model_open_file(const char* path, slm_model** out) {
  if (!out) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_model_open_file: out is NULL");
  *out = nullptr;
  if (!path) return fail_with(SLM_ERR_INVALID_ARGUMENT, "slm_model_open_file: path is NULL");
  return guarded(SLM_ERR_BAD_MODEL, [&] {
    auto file = slmkit::MappedFile::open(path);
    return slmkit::capi::open_gguf(file->bytes(), path, file, out);
  });
}

void slm_model_free(slm_model* model) {
  delete model;
}

int32_t slm_model_n_vocab(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(model->engine->impl().n_vocab) : 0;
}
int32_t slm_model_n_ctx_train(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(config_of(model)->context_length) : 0;
}
int32_t slm_model_n_embd(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(config_of(model)->n_embd) : 0;
}
int32_t slm_model_n_layer(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(config_of(model)->n_layer) : 0;
}
int32_t slm_model_n_head(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(config_of(model)->n_head) : 0;
}
int32_t slm_model_n_head_kv(const slm_model* model) {
  return model ? slmkit::capi::clamp_i32(config_of(model)->n_head_kv) : 0;
}
int32_t slm_model_bos(const slm_model* model) {
  if (!model) return -1;
  return model->tokenizer ? model->tokenizer->bos_id() : config_of(model)->bos_id;
}
int32_t slm_model_eos(const slm_model* model) {
  if (!model) return -1;
  return model->tokenizer ? model->tokenizer->eos_id() : config_of(model)->eos_id;
}
int slm_model_is_eog(const slm_model* model, int32_t id) {
  if (!model) return 0;
  if (model->tokenizer) return model->tokenizer->is_end_of_generation(id) ? 1 : 0;
  return id >= 0 && id == config_of(model)->eos_id ? 1 : 0;
}
const char* slm_model_architecture(const slm_model* model) {
  return model ? model->arch.c_str() : "";
}
const char* slm_model_name(const slm_model* model) {
  return model ? model->name.c_str() : "";
}
uint64_t slm_model_n_params(const slm_model* model) {
  return model ? static_cast<uint64_t>(model->engine->model().n_parameters()) : 0;
}
uint64_t slm_model_tensor_bytes(const slm_model* model) {
  return model ? model->engine->model().n_bytes() : 0;
}
uint64_t slm_model_heap_bytes(const slm_model* model) {
  return model ? model->engine->impl().allocated_weight_bytes() : 0;
}

int32_t slm_tokenize(const slm_model* model, const char* text, size_t len, int add_bos,
                     int32_t* ids, int32_t max_ids) {
  int32_t result = SLM_ERROR_COUNT;
  const slm_status status = guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model) slmkit::fail_invalid("slm_tokenize: model is NULL");
    if (!text && len > 0) slmkit::fail_invalid("slm_tokenize: text is NULL, len {}", len);
    if (max_ids < 0 || (max_ids > 0 && !ids)) {
      slmkit::fail_invalid("slm_tokenize: ids must hold max_ids ({}) ids", max_ids);
    }
    if (!model->tokenizer) slmkit::fail_unsupported("slm_tokenize: {}", model->no_tokenizer);
    const slmkit::Tokenizer& tok = *model->tokenizer;
    const std::vector<int32_t> encoded = tok.encode(std::string_view(text ? text : "", len),
                                                    /*add_special=*/false);
    const bool bos = add_bos != 0 && tok.bos_id() >= 0;
    const size_t n = encoded.size() + (bos ? 1 : 0);
    if (n > static_cast<size_t>(INT32_MAX)) {
      slmkit::fail_invalid("slm_tokenize: {} tokens do not fit an int32_t count", n);
    }
    if (n > static_cast<size_t>(max_ids)) {
      result = -static_cast<int32_t>(n);
      return SLM_OK;
    }
    int32_t* p = ids;
    if (bos) *p++ = tok.bos_id();
    if (!encoded.empty()) std::memcpy(p, encoded.data(), encoded.size() * sizeof(int32_t));
    result = static_cast<int32_t>(n);
    return SLM_OK;
  });
  return status == SLM_OK ? result : SLM_ERROR_COUNT;
}

int32_t slm_token_to_piece(const slm_model* model, int32_t id, char* buf, int32_t buf_len) {
  int32_t result = SLM_ERROR_COUNT;
  const slm_status status = guarded(SLM_ERR_INVALID_ARGUMENT, [&] {
    if (!model) slmkit::fail_invalid("slm_token_to_piece: model is NULL");
    if (buf_len < 0 || (buf_len > 0 && !buf)) {
      slmkit::fail_invalid("slm_token_to_piece: buf must hold buf_len ({}) bytes", buf_len);
    }
    if (!model->tokenizer) {
      slmkit::fail_unsupported("slm_token_to_piece: {}", model->no_tokenizer);
    }
    const slmkit::Tokenizer& tok = *model->tokenizer;
    const std::string bytes = tok.token_bytes(id);  // checks the id
    // Control tokens (BOS, EOS, turn markers) are not text, as llama.cpp's default piece says.
    const auto& types = tok.vocab().types;
    const bool control = static_cast<size_t>(id) < types.size() &&
                         (types[static_cast<size_t>(id)] == slmkit::TokenType::control ||
                          types[static_cast<size_t>(id)] == slmkit::TokenType::unknown);
    const size_t n = control ? 0 : bytes.size();
    if (n > static_cast<size_t>(INT32_MAX)) slmkit::fail_invalid("token piece too long");
    if (n > static_cast<size_t>(buf_len)) {
      result = -static_cast<int32_t>(n);
      return SLM_OK;
    }
    if (n > 0) std::memcpy(buf, bytes.data(), n);
    result = static_cast<int32_t>(n);
    return SLM_OK;
  });
  return status == SLM_OK ? result : SLM_ERROR_COUNT;
}

}  // extern "C"
