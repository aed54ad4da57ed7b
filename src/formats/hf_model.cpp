#include <cctype>
#include <map>
#include <optional>

#include "arch/arch.h"
#include "core/atomic_file.h"
#include "core/fail.h"
#include "formats/model_io.h"
#include "formats/safetensors.h"
#include "formats/tensor_transforms.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

// "model.layers.12.mlp.up_proj.weight" -> ("model.layers.{L}.mlp.up_proj.weight", 12)
std::pair<std::string, std::optional<int64_t>> layer_template(const std::string& name) {
  size_t i = 0;
  while ((i = name.find('.', i)) != std::string::npos) {
    size_t j = i + 1;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (j > i + 1 && j < name.size() && name[j] == '.' && j - i - 1 <= 6) {
      const int64_t layer = std::stoll(name.substr(i + 1, j - i - 1));
      return {name.substr(0, i + 1) + "{L}" + name.substr(j), layer};
    }
    i = j;
  }
  return {name, std::nullopt};
}

std::string with_layer(std::string_view pattern, int64_t layer) {
  std::string s(pattern);
  const size_t at = s.find("{L}");
  if (at != std::string::npos) s.replace(at, 3, std::to_string(layer));
  return s;
}

// Gemma 3 multimodal checkpoints nest the language model; GPT-2 checkpoints may lack
// "transformer.".
std::optional<std::string> normalize_hf_name(const std::string& name, const arch::Arch& a) {
  for (const char* skip : {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                           "model.multi_modal_projector."}) {
    if (name.starts_with(skip)) return std::nullopt;
  }
  std::string n = name;
  if (n.starts_with("model.language_model.")) n = "model." + n.substr(21);
  if (n.starts_with("language_model.")) n = n.substr(15);
  if (a.name == "gpt2" && n.starts_with("transformer.")) n = n.substr(12);
  return n;
}

}  // namespace

ModelConfig config_from_hf_json(const nlohmann::ordered_json& cfg, const std::string& where) {
  if (!cfg.is_object()) fail_invalid("{}: expected a JSON object", where);
  auto mt = cfg.find("model_type");
  if (mt == cfg.end() || !mt->is_string()) fail_invalid("{}: no \"model_type\" string", where);
  const arch::Arch* a = arch::find_by_hf_model_type(mt->get<std::string>());
  if (!a) {
    fail_unsupported("{}: model_type \"{}\" is not supported (supported: {})", where,
                     mt->get<std::string>(), arch::supported_names());
  }
  ModelConfig c;
  c.arch = std::string(a->name);
  a->defaults(c);
  const nlohmann::json plain = cfg;  // the mappings read a plain json
  try {
    a->from_hf(plain, c);
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: {}", where, e.what());  // a value of the wrong JSON type
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(e.kind(), what.starts_with(where) ? what : where + ": " + what);
  }
  if (c.layer_attention.empty())
    c.layer_attention.assign(static_cast<size_t>(std::max<int64_t>(c.n_layer, 0)),
                             AttentionKind::global);
  if (c.rope.style != RopeStyle::none) c.rope.style = a->hf_rope_style;
  c.norm_weight_offset = a->hf_norm_weight_offset;
  const nlohmann::json& ids = plain.contains("text_config") ? plain["text_config"] : plain;
  c.bos_id = arch::hf::get_token_id(ids.contains("bos_token_id") ? ids : plain, "bos_token_id");
  c.eos_id = arch::hf::get_token_id(ids.contains("eos_token_id") ? ids : plain, "eos_token_id");
  c.pad_id = arch::hf::get_token_id(ids.contains("pad_token_id") ? ids : plain, "pad_token_id");
  return c;
}

Model model_from_hf_folder(const fs::path& dir) {
  safetensors::Folder folder = safetensors::read_folder(dir);
  const std::string where = (dir / "config.json").string();
  const nlohmann::ordered_json& cfg = folder.config;
  Model m;
  m.source.format = "hf";
  m.source.path = dir;
  m.source.metadata = cfg;
  m.source.synthetic =
      cfg.contains("slmkit_synthetic") || (folder.metadata.count("slmkit.synthetic") &&
                                           folder.metadata.at("slmkit.synthetic") == "true");
  m.config = config_from_hf_json(cfg, where);
  m.config.name = dir.filename().string();
  if (m.config.name.empty()) m.config.name = dir.parent_path().filename().string();
  ModelConfig& c = m.config;
  const arch::Arch* a = arch::find(c.arch);
  std::map<std::string, const arch::NameRule*> rules;
  for (const arch::NameRule& r : a->hf_names) rules.emplace(std::string(r.hf), &r);
  for (Tensor& t : folder.tensors) {
    const std::optional<std::string> name = normalize_hf_name(t.name(), *a);
    if (!name) continue;
    auto [pattern, layer] = layer_template(*name);
    auto it = rules.find(pattern);
    if (it == rules.end()) {
      const bool ignored =
          std::find(a->hf_ignored.begin(), a->hf_ignored.end(), pattern) != a->hf_ignored.end();
      if (ignored) continue;
      fail_invalid("{}: tensor '{}' is not part of a {} model", dir.string(), t.name(), a->name);
    }
    if (layer && (*layer < 0 || *layer >= c.n_layer)) {
      fail_invalid("{}: tensor '{}' names layer {} of a {}-layer model", dir.string(), t.name(),
                   *layer, c.n_layer);
    }
    Tensor ours = it->second->conv1d ? transpose_2d(t) : t;
    ours.set_name(with_layer(it->second->ours, layer.value_or(0)));
    m.add(std::move(ours));
  }
  if (c.rope.scaling == RopeScaling::llama3 && !m.find("rope_freqs.weight"))
    m.add(llama3_rope_factors(c));
  m.vocab = read_folder_vocab(dir);
  if (m.vocab.bos_id < 0) m.vocab.bos_id = c.bos_id;
  if (m.vocab.eos_id < 0) m.vocab.eos_id = c.eos_id;
  if (c.bos_id < 0) c.bos_id = m.vocab.bos_id;
  if (c.eos_id < 0) c.eos_id = m.vocab.eos_id;
  arch::check_model(m, dir.string());
  return m;
}

namespace {

void copy_source_tokenizer_files(const Model& model, const fs::path& out) {
  const Vocab& vocab = model.vocab;
  const fs::path src = vocab.source;
  if (vocab.source.empty() || !fs::is_regular_file(src)) {
    // Read from a Hugging Face folder: Vocab::source names only the kind of file.
    if (model.source.format != "hf" || !fs::is_directory(model.source.path)) return;
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                          "tokenizer.model", "vocab.json", "merges.txt"}) {
      if (fs::is_regular_file(model.source.path / f)) {
        fs::copy_file(model.source.path / f, out / f, fs::copy_options::overwrite_existing);
      }
    }
    return;
  }
  const fs::path from = src.parent_path();
  const std::string file = src.filename().string();
  auto copy = [&](const fs::path& a, const std::string& b) {
    if (fs::is_regular_file(a)) fs::copy_file(a, out / b, fs::copy_options::overwrite_existing);
  };
  if (file == "tokenizer.json" || file == "tokenizer.model") {
    copy(src, file);
    for (const char* extra : {"tokenizer_config.json", "special_tokens_map.json"})
      copy(from / extra, extra);
  } else if (file == "vocab.json" || file == "encoder.json") {
    copy(src, "vocab.json");
    copy(from / "merges.txt", "merges.txt");
    copy(from / "vocab.bpe", "merges.txt");
  }
}

// The source's own tokenizer files as they are; tokenizer.json (+ tokenizer_config.json) written
// from the vocabulary when the source had none (GGUF, llama2.c, tokenizer.model, vocab.json), as
// transformers.js and the fast tokenizers load only that file.
void copy_tokenizer_files(const Model& model, const fs::path& out, int64_t context_length) {
  const Vocab& vocab = model.vocab;
  copy_source_tokenizer_files(model, out);
  if (vocab.empty() || fs::exists(out / "tokenizer.json")) return;
  std::string json, config;
  try {
    json = tokenizer_json_from_vocab(vocab);
    config = tokenizer_config_from_vocab(vocab, context_length);
  } catch (const Error& e) {
    // A vocabulary kind we cannot express as tokenizer.json (a BERT WordPiece GGUF, an unknown
    // pre-tokenizer): the weights are still worth writing, without the file, as before.
    if (e.kind() != ErrorKind::unsupported) throw;
    return;
  }
  write_file_atomic(out / "tokenizer.json", json);
  if (!fs::exists(out / "tokenizer_config.json")) {
    write_file_atomic(out / "tokenizer_config.json", config);
  }
}

}  // namespace

void write_hf_folder(const Model& model, const fs::path& dir) {
  const arch::Arch* a = arch::find(model.config.arch);
  if (!a)
    fail_unsupported("architecture '{}' is not supported (supported: {})", model.config.arch,
                     arch::supported_names());
  Model m = model;
  convert_conventions(m, a->hf_rope_style, a->hf_norm_weight_offset);
  const ModelConfig& c = m.config;

  const fs::path temp = temporary_name(dir);
  std::error_code ec;
  fs::remove_all(temp, ec);
  fs::create_directories(temp);
  struct Cleanup {
    fs::path p;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(p, e);
    }
  } cleanup{temp};

  nlohmann::ordered_json cfg;
  a->to_hf(c, cfg);
  if (c.bos_id >= 0) cfg["bos_token_id"] = c.bos_id;
  if (c.eos_id >= 0) cfg["eos_token_id"] = c.eos_id;
  DType dtype = DType::F32;
  if (const Tensor* e = m.find("token_embd.weight")) dtype = e->dtype();
  cfg["torch_dtype"] = dtype == DType::F16    ? "float16"
                       : dtype == DType::BF16 ? "bfloat16"
                                              : "float32";
  if (m.source.synthetic)
    cfg["slmkit_synthetic"] = {{"note", "random weights written by slmkit synth"}};
  write_file_atomic(temp / "config.json", cfg.dump(2) + "\n");

  std::map<std::string, const arch::NameRule*> by_ours;
  for (const arch::NameRule& r : a->hf_names) by_ours.emplace(std::string(r.ours), &r);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const Tensor& t : m.tensors()) {
    if (t.name() == "rope_freqs.weight") continue;  // Hugging Face derives it from rope_scaling
    if (t.name() == "output.weight" && c.tied_embeddings) continue;
    auto [pattern, layer] = layer_template(t.name());
    auto it = by_ours.find(pattern);
    if (it == by_ours.end())
      fail(ErrorKind::internal, "no Hugging Face name for tensor '{}' ({})", t.name(), c.arch);
    std::string hf_name = with_layer(it->second->hf, layer.value_or(0));
    if (a->name == "gpt2") hf_name = "transformer." + hf_name;
    if (a->name == "gpt2" && hf_name == "transformer.lm_head.weight") hf_name = "lm_head.weight";
    tensors.emplace_back(std::move(hf_name), it->second->conv1d ? transpose_2d(t) : t);
  }
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  if (m.source.synthetic) metadata["slmkit.synthetic"] = "true";
  safetensors::write_file(temp / "model.safetensors", tensors, metadata);
  copy_tokenizer_files(m, temp, c.context_length);

  if (fs::exists(dir)) {
    // Replace only what looks like a model folder; never delete an unrelated directory.
    if (!fs::is_directory(dir) || (!fs::is_empty(dir) && !fs::exists(dir / "config.json"))) {
      fail_invalid("{}: exists and is not a model folder; choose another output path",
                   dir.string());
    }
    fs::remove_all(dir, ec);
  }
  fs::rename(temp, dir, ec);
  if (ec) fail_io("{}: cannot rename to {}: {}", temp.string(), dir.string(), ec.message());
  cleanup.keep = true;
}

}  // namespace slmkit
