#include <algorithm>
#include <optional>

#include "arch/arch.h"
#include "core/fail.h"
#include "formats/gguf_vocab.h"
#include "formats/model_io.h"
#include "formats/tensor_transforms.h"

namespace slmkit {
namespace {

constexpr size_t kMaxArrayItemsInMetadata = 16;

nlohmann::ordered_json value_json(const gguf::Value& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::ordered_json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, gguf::Array>) {
          if (x.items.size() > kMaxArrayItemsInMetadata) {
            return {{"type", std::string("array of ") + std::string(gguf::value_type_name(x.type))},
                    {"length", x.items.size()}};
          }
          nlohmann::ordered_json a = nlohmann::ordered_json::array();
          for (const gguf::Value& item : x.items) a.push_back(value_json(item));
          return a;
        } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
          return static_cast<int>(x);
        } else {
          return x;
        }
      },
      v.v);
}

uint32_t to_u32(int64_t v, const char* what) {
  if (v < 0 || v > UINT32_MAX)
    fail(ErrorKind::internal, "{} = {} does not fit a GGUF u32", what, v);
  return static_cast<uint32_t>(v);
}

// The family's keys beyond the shared ones, from its tables (arch::Arch::gguf_*).
void read_family_keys(const gguf::File& f, const arch::Arch& a, ModelConfig& c) {
  const std::string p = std::string(a.name) + ".";
  for (const arch::GgufFloatKey& k : a.gguf_float_keys) {
    const std::string key = p + std::string(k.suffix);
    const gguf::Value* v = f.find(key);
    k.field(c) = v ? v->as_f64(key) : k.fallback;
  }
  if (a.gguf_sliding_period > 0) {
    const std::string key = p + "attention.sliding_window_pattern";
    const gguf::Value* pattern = f.find(key);
    if (pattern && pattern->type() == gguf::ValueType::array) {
      const gguf::Array& items = pattern->as_array(key);
      if (static_cast<int64_t>(items.items.size()) != c.n_layer) {
        fail_invalid("{}: {} has {} entries for {} layers", f.path, key, items.items.size(),
                     c.n_layer);
      }
      c.layer_attention.clear();
      for (const gguf::Value& v : items.items) {
        c.layer_attention.push_back(v.as_bool(key) ? AttentionKind::sliding
                                                   : AttentionKind::global);
      }
    } else {
      arch::sliding_layers(c, pattern ? pattern->as_i64(key) : a.gguf_sliding_period);
    }
  }
  if (a.complete_gguf_config) a.complete_gguf_config(c);
}

void write_family_keys(const arch::Arch& a, ModelConfig c, gguf::Writer& w) {
  const std::string p = std::string(a.name) + ".";
  for (const arch::GgufFloatKey& k : a.gguf_float_keys) {
    const double v = k.field(c);
    if (v != k.fallback) w.set_f32(p + std::string(k.suffix), static_cast<float>(v));
  }
  if (a.gguf_sliding_period > 0) {
    ModelConfig standard = c;
    arch::sliding_layers(standard, a.gguf_sliding_period);
    if (standard.layer_attention == c.layer_attention) return;
    // A non-default layout is written per layer (llama.cpp reads this array form too).
    gguf::Array pattern{gguf::ValueType::boolean, {}};
    for (AttentionKind k : c.layer_attention)
      pattern.items.push_back(gguf::Value{k == AttentionKind::sliding});
    w.set(p + "attention.sliding_window_pattern", gguf::Value{std::move(pattern)});
  }
}

bool has_block_tensors(const Model& m) {
  for (const Tensor& t : m.tensors()) {
    if (traits(t.dtype()).block_size > 1) return true;
  }
  return false;
}

}  // namespace

nlohmann::ordered_json gguf_metadata_json(const gguf::File& file) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const gguf::KeyValue& kv : file.kvs) j[kv.key] = value_json(kv.value);
  return j;
}

Model model_from_gguf(const gguf::File& f) {
  const gguf::Value* arch_value = f.find("general.architecture");
  if (!arch_value) fail_invalid("{}: GGUF has no general.architecture", f.path);
  const std::string& arch_name = arch_value->as_string("general.architecture");
  const arch::Arch* a = arch::find(arch_name);
  if (!a) {
    fail_unsupported("{}: architecture '{}' is not supported (supported: {})", f.path, arch_name,
                     arch::supported_names());
  }
  Model m;
  m.source.format = "gguf";
  m.source.path = f.path;
  m.source.metadata = gguf_metadata_json(f);
  if (const gguf::Value* s = f.find("slmkit.synthetic"))
    m.source.synthetic = s->as_bool("slmkit.synthetic");

  ModelConfig& c = m.config;
  c.arch = arch_name;
  a->defaults(c);
  const std::string p = arch_name + ".";
  auto required = [&](const std::string& key) -> int64_t {
    const gguf::Value* v = f.find(p + key);
    if (!v) fail_invalid("{}: GGUF has no {}{} (required for {})", f.path, p, key, arch_name);
    if (v->type() == gguf::ValueType::array) {
      fail_unsupported("{}: per-layer {}{} is not supported", f.path, p, key);
    }
    return v->as_i64(p + key);
  };
  auto optional_int = [&](const std::string& key, int64_t fallback) -> int64_t {
    const gguf::Value* v = f.find(p + key);
    if (v && v->type() == gguf::ValueType::array) {
      fail_unsupported("{}: per-layer {}{} is not supported", f.path, p, key);
    }
    return v ? v->as_i64(p + key) : fallback;
  };
  auto optional_f64 = [&](const std::string& key, double fallback) -> double {
    const gguf::Value* v = f.find(p + key);
    return v ? v->as_f64(p + key) : fallback;
  };
  if (const gguf::Value* n = f.find("general.name")) c.name = n->as_string("general.name");
  c.n_embd = required("embedding_length");
  c.n_layer = arch::checked_layer_count(required("block_count"), f.path);
  c.n_ff = required("feed_forward_length");
  c.n_head = required("attention.head_count");
  c.n_head_kv = optional_int("attention.head_count_kv", c.n_head);
  c.context_length = required("context_length");
  c.head_dim = optional_int("attention.key_length", c.n_head > 0 ? c.n_embd / c.n_head : 0);
  c.norm_eps = c.norm == NormKind::layer_norm
                   ? optional_f64("attention.layer_norm_epsilon", 1e-5)
                   : optional_f64("attention.layer_norm_rms_epsilon", 1e-5);
  if (c.rope.style != RopeStyle::none) {
    c.rope.style = a->gguf_rope_style;
    c.rope.freq_base = optional_f64("rope.freq_base", 10000.0);
    c.rope.n_dims = optional_int("rope.dimension_count", c.head_dim);
    if (const gguf::Value* t = f.find(p + "rope.scaling.type")) {
      const std::string& type = t->as_string(p + "rope.scaling.type");
      if (type == "linear") {
        c.rope.scaling = RopeScaling::linear;
        c.rope.scaling_factor = optional_f64("rope.scaling.factor", 1.0);
      } else if (type != "none") {
        fail_unsupported("{}: {}rope.scaling.type '{}' is not supported (none, linear)", f.path, p,
                         type);
      }
    }
  }
  c.sliding_window = optional_int("attention.sliding_window", 0);
  m.vocab = gguf::read_vocab(f);
  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  c.vocab_size = optional_int("vocab_size", embd && embd->ne.size() == 2
                                                ? static_cast<int64_t>(embd->ne[1])
                                                : static_cast<int64_t>(m.vocab.size()));
  read_family_keys(f, *a, c);
  if (c.layer_attention.empty())
    c.layer_attention.assign(static_cast<size_t>(std::max<int64_t>(c.n_layer, 0)),
                             AttentionKind::global);
  c.bos_id = m.vocab.bos_id;
  c.eos_id = m.vocab.eos_id;
  c.pad_id = m.vocab.pad_id;

  for (const gguf::TensorInfo& info : f.tensors) m.add(f.tensor(info));
  c.tied_embeddings = m.find("output.weight") == nullptr;
  if (m.find("rope_freqs.weight")) c.rope.scaling = RopeScaling::llama3;
  arch::check_model(m, f.path);
  return m;
}

namespace {

// The writer for `model` (tensors converted to GGUF's conventions; the writer keeps them alive).
// `block_tensors`: whether the file holds block-quantized tensors (general.quantization_version);
// unset: as the model's tensors say.
const arch::Arch& gguf_arch(const ModelConfig& c) {
  const arch::Arch* a = arch::find(c.arch);
  if (!a)
    fail_unsupported("architecture '{}' is not supported (supported: {})", c.arch,
                     arch::supported_names());
  return *a;
}

bool in_gguf_conventions(const ModelConfig& c, const arch::Arch& a) {
  return (c.rope.style == RopeStyle::none || c.rope.style == a.gguf_rope_style) &&
         c.norm_weight_offset == 0.0f;
}

gguf::Writer gguf_model_writer(const Model& model, int32_t file_type,
                               std::optional<bool> block_tensors,
                               const std::map<std::string, DeferredTensor>* deferred = nullptr) {
  const arch::Arch* a = &gguf_arch(model.config);
  if (deferred && !deferred->empty() && !in_gguf_conventions(model.config, *a)) {
    fail(ErrorKind::internal, "GGUF writer: deferred tensors need a model in GGUF's conventions");
  }
  Model m = model;
  convert_conventions(m, a->gguf_rope_style, 0.0f);
  const ModelConfig& c = m.config;
  const std::string p = c.arch + ".";
  gguf::Writer w;
  w.set_string("general.architecture", c.arch);
  w.set_string("general.type", "model");
  w.set_string("general.name", c.name.empty() ? c.arch : c.name);
  w.set_u32("general.file_type", to_u32(file_type, "file_type"));
  if (block_tensors.value_or(has_block_tensors(m)))
    w.set_u32("general.quantization_version", 2);  // GGML_QNT_VERSION  // GGML_QNT_VERSION
  if (m.source.synthetic) w.set_bool("slmkit.synthetic", true);
  w.set_u32(p + "context_length", to_u32(c.context_length, "context_length"));
  w.set_u32(p + "embedding_length", to_u32(c.n_embd, "n_embd"));
  w.set_u32(p + "feed_forward_length", to_u32(c.n_ff, "n_ff"));
  w.set_u32(p + "block_count", to_u32(c.n_layer, "n_layer"));
  w.set_u32(p + "attention.head_count", to_u32(c.n_head, "n_head"));
  w.set_u32(p + "attention.head_count_kv", to_u32(c.n_head_kv, "n_head_kv"));
  if (c.head_dim * c.n_head != c.n_embd || a->gguf_key_length_always) {
    w.set_u32(p + "attention.key_length", to_u32(c.head_dim, "head_dim"));
    w.set_u32(p + "attention.value_length", to_u32(c.head_dim, "head_dim"));
  }
  if (c.norm == NormKind::layer_norm) {
    w.set_f32(p + "attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
  } else {
    w.set_f32(p + "attention.layer_norm_rms_epsilon", static_cast<float>(c.norm_eps));
  }
  if (c.rope.style != RopeStyle::none) {
    w.set_f32(p + "rope.freq_base", static_cast<float>(c.rope.freq_base));
    w.set_u32(p + "rope.dimension_count", to_u32(c.rope.n_dims, "rope.n_dims"));
    if (c.rope.scaling == RopeScaling::linear) {
      w.set_string(p + "rope.scaling.type", "linear");
      w.set_f32(p + "rope.scaling.factor", static_cast<float>(c.rope.scaling_factor));
    }
  }
  if (c.sliding_window > 0)
    w.set_u32(p + "attention.sliding_window", to_u32(c.sliding_window, "sliding_window"));
  w.set_u32(p + "vocab_size", to_u32(c.vocab_size, "vocab_size"));
  write_family_keys(*a, c, w);
  if (!m.vocab.empty()) gguf::write_vocab(m.vocab, w);

  // Tensors in the order of the architecture's layout, then anything else the model carries.
  const Tensor* rope_freqs = m.find("rope_freqs.weight");
  Tensor computed_rope_freqs;
  if (c.rope.scaling == RopeScaling::llama3 && !rope_freqs && c.rope.original_context_length > 0) {
    computed_rope_freqs = llama3_rope_factors(c);
    rope_freqs = &computed_rope_freqs;
  }
  for (const arch::TensorSpec& spec : arch::expected_tensors(c)) {
    const Tensor* t = spec.name == "rope_freqs.weight" ? rope_freqs : m.find(spec.name);
    if (!t) continue;
    const auto d = deferred ? deferred->find(spec.name)
                            : std::map<std::string, DeferredTensor>::const_iterator{};
    if (deferred && d != deferred->end()) {
      w.add_deferred_tensor(spec.name, d->second.type, d->second.shape, d->second.produce);
    } else {
      w.add_tensor(*t);
    }
  }
  return w;
}

}  // namespace

void write_gguf_model(const Model& model, const std::filesystem::path& path, int32_t file_type) {
  gguf_model_writer(model, file_type, std::nullopt).write(path);
}

void write_gguf_model(const Model& model, const std::filesystem::path& path, int32_t file_type,
                      bool block_tensors, const std::map<std::string, DeferredTensor>& deferred) {
  gguf_model_writer(model, file_type, block_tensors, &deferred).write(path);
}

void to_gguf_conventions(Model& model) {
  const arch::Arch& a = gguf_arch(model.config);
  if (!in_gguf_conventions(model.config, a)) convert_conventions(model, a.gguf_rope_style, 0.0f);
}

GgufModelLayout gguf_model_layout(const Model& model, int32_t file_type, bool block_tensors) {
  const gguf::Writer w = gguf_model_writer(model, file_type, block_tensors);
  return {w.header().size(), w.alignment(), w.tensor_layout()};
}

}  // namespace slmkit
