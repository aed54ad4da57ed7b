#include "slmkit/inspect.h"

#include <fmt/format.h>

#include <map>

namespace slmkit {
namespace {

const char* norm_name(NormKind k) {
  return k == NormKind::layer_norm ? "layer_norm" : "rms_norm";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::gelu_tanh:
      return "gelu_tanh";
    case Activation::gelu_erf:
      return "gelu_erf";
    case Activation::silu:
      return "silu";
  }
  return "?";
}

const char* rope_name(RopeStyle s) {
  switch (s) {
    case RopeStyle::none:
      return "none";
    case RopeStyle::normal:
      return "normal";
    case RopeStyle::neox:
      return "neox";
  }
  return "?";
}

nlohmann::ordered_json config_json(const ModelConfig& c) {
  int64_t sliding = 0;
  for (AttentionKind k : c.layer_attention) sliding += k == AttentionKind::sliding;
  nlohmann::ordered_json j = {
      {"vocab_size", c.vocab_size},
      {"embedding_length", c.n_embd},
      {"layers", c.n_layer},
      {"heads", c.n_head},
      {"kv_heads", c.n_head_kv},
      {"head_dim", c.head_dim},
      {"feed_forward_length", c.n_ff},
      {"context_length", c.context_length},
      {"norm", norm_name(c.norm)},
      {"norm_eps", c.norm_eps},
      {"activation", activation_name(c.activation)},
      {"gated_ffn", c.gated_ffn},
      {"positions", c.learned_positions ? "learned" : "rope"},
      {"rope",
       {{"style", rope_name(c.rope.style)},
        {"dims", c.rope.n_dims},
        {"freq_base", c.rope.freq_base}}},
      {"sliding_window_layers", sliding},
      {"tied_embeddings", c.tied_embeddings},
  };
  if (sliding > 0) {
    j["sliding_window"] = c.sliding_window;
    j["rope"]["freq_base_local"] = c.rope.freq_base_local;
  }
  if (c.qk_norm) j["qk_norm"] = true;
  if (c.sandwich_norm) j["sandwich_norm"] = true;
  if (c.embed_scale != 1.0) j["embed_scale"] = c.embed_scale;
  if (c.final_logit_softcap > 0) j["final_logit_softcap"] = c.final_logit_softcap;
  if (c.rope.scaling == RopeScaling::llama3) j["rope"]["scaling"] = "llama3";
  if (c.rope.scaling == RopeScaling::linear) j["rope"]["scaling"] = "linear";
  return j;
}

nlohmann::ordered_json vocab_json(const Vocab& v) {
  if (v.empty()) return nullptr;
  return {{"model", v.model},          {"pre", v.pre},       {"tokens", v.size()},
          {"merges", v.merges.size()}, {"bos_id", v.bos_id}, {"eos_id", v.eos_id},
          {"unk_id", v.unk_id},        {"source", v.source}};
}

}  // namespace

std::string human_count(int64_t n) {
  const double x = static_cast<double>(n);
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", x / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", x / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", x / 1e3);
  return std::to_string(n);
}

std::string human_bytes(uint64_t n) {
  const double x = static_cast<double>(n);
  if (n >= (1ull << 30)) return fmt::format("{:.2f} GiB", x / (1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.2f} MiB", x / (1ull << 20));
  if (n >= (1ull << 10)) return fmt::format("{:.1f} KiB", x / (1ull << 10));
  return fmt::format("{} B", n);
}

nlohmann::ordered_json inspect_model(const Model& m) {
  std::map<std::string, std::pair<int64_t, uint64_t>> per_type;  // elements, bytes
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const Tensor& t : m.tensors()) {
    auto& [elements, bytes] = per_type[std::string(dtype_name(t.dtype()))];
    elements += t.n_elements();
    bytes += t.n_bytes();
    tensors.push_back({{"name", t.name()},
                       {"type", dtype_name(t.dtype())},
                       {"shape", t.shape()},
                       {"bytes", t.n_bytes()}});
  }
  nlohmann::ordered_json types = nlohmann::ordered_json::object();
  for (const auto& [name, v] : per_type) types[name] = {{"elements", v.first}, {"bytes", v.second}};
  const int64_t params = m.n_parameters();
  return {
      {"path", m.source.path.string()},
      {"format", m.source.format},
      {"synthetic", m.source.synthetic},
      {"architecture", m.config.arch},
      {"name", m.config.name},
      {"parameters", params},
      {"stored_elements", m.n_stored_elements()},
      {"tied_copy_elements", m.n_stored_elements() - params},
      {"bytes", m.n_bytes()},
      {"bytes_per_type", types},
      {"config", config_json(m.config)},
      {"tokenizer", vocab_json(m.vocab)},
      {"metadata", m.source.metadata},
      {"tensors", tensors},
  };
}

namespace {

// Floats as people read them (f32 metadata printed in full would show 9.999999747e-06).
std::string value_text(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.7g}", v.get<double>());
  if (v.is_object()) {
    std::string s;
    for (const auto& [k, x] : v.items()) s += (s.empty() ? "" : ", ") + k + " " + value_text(x);
    return s;
  }
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string format_inspection(const nlohmann::ordered_json& r, bool all_tensors) {
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    out += fmt::format("{:<34} {}\n", k, v);
  };
  line("path", r["path"].get<std::string>());
  line("format", r["format"].get<std::string>() +
                     (r["synthetic"].get<bool>() ? " (synthetic: random weights)" : ""));
  line("architecture", r["architecture"].get<std::string>());
  line("name", r["name"].get<std::string>());
  const int64_t params = r["parameters"].get<int64_t>();
  std::string p = fmt::format("{} ({})", params, human_count(params));
  if (r["tied_copy_elements"].get<int64_t>() > 0) {
    p += fmt::format("; the file also stores a {}-element copy of the tied classifier",
                     r["tied_copy_elements"].get<int64_t>());
  }
  line("parameters", p);
  line("size", fmt::format("{} bytes ({})", r["bytes"].get<uint64_t>(),
                           human_bytes(r["bytes"].get<uint64_t>())));
  for (const auto& [type, v] : r["bytes_per_type"].items()) {
    line("  " + type, fmt::format("{} elements, {} bytes", v["elements"].get<int64_t>(),
                                  v["bytes"].get<uint64_t>()));
  }
  out += "config\n";
  for (const auto& [k, v] : r["config"].items()) line("  " + k, value_text(v));
  if (!r["tokenizer"].is_null()) {
    const auto& t = r["tokenizer"];
    line(
        "tokenizer",
        fmt::format(
            "{}{}, {} tokens, {} merges, bos {}, eos {}, from {}", t["model"].get<std::string>(),
            t["pre"].get<std::string>().empty() ? "" : " (pre " + t["pre"].get<std::string>() + ")",
            t["tokens"].get<size_t>(), t["merges"].get<size_t>(), t["bos_id"].get<int>(),
            t["eos_id"].get<int>(), t["source"].get<std::string>()));
  } else {
    line("tokenizer", "none");
  }
  out += "metadata\n";
  for (const auto& [k, v] : r["metadata"].items()) {
    std::string s = value_text(v);
    if (s.size() > 100) s = s.substr(0, 97) + "...";
    line("  " + k, s);
  }
  const auto& tensors = r["tensors"];
  out += fmt::format("tensors ({})\n", tensors.size());
  size_t shown = 0;
  for (const auto& t : tensors) {
    const std::string name = t["name"].get<std::string>();
    const bool later_layer = name.starts_with("blk.") && !name.starts_with("blk.0.");
    if (!all_tensors && later_layer) continue;
    out += fmt::format("  {:<36} {:<6} {:<18} {}\n", name, t["type"].get<std::string>(),
                       t["shape"].dump(), t["bytes"].get<uint64_t>());
    ++shown;
  }
  if (shown < tensors.size())
    out += fmt::format("  ... {} more in later layers (--all to list)\n", tensors.size() - shown);
  return out;
}

}  // namespace slmkit
