#include "validate/artifact.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/fail.h"
#include "core/type_bytes.h"
#include "formats/gguf.h"
#include "formats/model_io.h"
#include "io/file_kind.h"
#include "quant/llama_ftype.h"
#include "slmkit/files.h"

namespace slmkit::artifact {

namespace fs = std::filesystem;

namespace {

// The file's stem without its precision suffix, and that precision ("fp32" when none).
std::pair<std::string, std::string> split_precision(const fs::path& path) {
  std::string stem = path.stem().string();
  // q4f16 before q4: the longer suffix wins.
  for (const char* p : {"q4f16", "fp16", "int8", "w8a8", "q4"}) {
    const std::string suffix = std::string("_") + p;
    if (stem.size() > suffix.size() && stem.ends_with(suffix)) {
      stem.resize(stem.size() - suffix.size());
      return {stem, p};
    }
  }
  return {stem, "fp32"};
}

bool is_legacy_with_past_stem(const std::string& stem) {
  return stem == "model_with_past" || stem == "model.with_past";
}

}  // namespace

bool legacy_onnx_layout(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".onnx" &&
        is_legacy_with_past_stem(split_precision(e.path()).first)) {
      return true;
    }
  }
  return false;
}

OnnxGraph describe_graph(const fs::path& path, bool legacy_layout) {
  OnnxGraph g;
  g.path = path;
  const auto [stem, precision] = split_precision(path);
  g.precision = precision;
  if (stem == "model") {
    g.variant = legacy_layout ? "plain" : "with_past";
  } else if (stem == "decoder_model") {
    g.variant = "plain";
  } else if (is_legacy_with_past_stem(stem) || stem == "decoder_model_merged" ||
             stem == "decoder_with_past_model") {
    g.variant = "with_past";
  } else if (stem == "prefill" || stem == "decode") {
    g.variant = stem;
  } else {
    g.variant = "other";
  }
  return g;
}

OnnxGraph describe_graph(const fs::path& path) {
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return describe_graph(path, legacy_onnx_layout(parent));
}

namespace {

std::vector<OnnxGraph> graphs_in(const fs::path& dir) {
  std::vector<OnnxGraph> out;
  if (!fs::is_directory(dir)) return out;
  const bool legacy = legacy_onnx_layout(dir);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".onnx")
      out.push_back(describe_graph(e.path(), legacy));
  }
  std::sort(out.begin(), out.end(),
            [](const OnnxGraph& a, const OnnxGraph& b) { return a.path < b.path; });
  return out;
}

}  // namespace

Info classify(const fs::path& path) {
  Info info;
  info.path = path;
  switch (io::sniff(path)) {
    case io::FileKind::folder:
      info.kind = Kind::onnx_folder;
      info.root = path;
      info.graphs = graphs_in(path / "onnx");
      if (info.graphs.empty()) info.graphs = graphs_in(path);
      if (info.graphs.empty()) {
        fail_invalid("{}: a folder artifact must hold onnx/*.onnx (the optimum layout) or *.onnx",
                     path.string());
      }
      break;
    case io::FileKind::onnx_graph: {
      info.kind = Kind::onnx_file;
      info.graphs = {describe_graph(path)};
      const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
      info.root = fs::exists(parent / "config.json") ? parent : parent.parent_path();
      break;
    }
    case io::FileKind::gguf:
      info.kind = Kind::gguf;
      break;
    default:
      fail_invalid("{}: neither a GGUF file (magic 'GGUF'), an .onnx graph nor an ONNX folder",
                   path.string());
  }
  if (info.kind != Kind::gguf && !info.root.empty() && fs::exists(info.root / "config.json"))
    info.config_json = info.root / "config.json";
  return info;
}

const OnnxGraph* main_graph(const Info& info, const std::string& precision) {
  for (const char* variant : {"with_past", "plain", "other"}) {
    for (const OnnxGraph& g : info.graphs) {
      if (g.precision == precision && g.variant == variant) return &g;
    }
  }
  return nullptr;
}

std::vector<std::string> precisions(const Info& info) {
  std::vector<std::string> out;
  for (const char* p : {"fp32", "fp16", "int8", "w8a8", "q4", "q4f16"}) {
    for (const OnnxGraph& g : info.graphs) {
      if (g.precision == p) {
        out.push_back(p);
        break;
      }
    }
  }
  return out;
}

ModelConfig onnx_config(const Info& info) {
  if (info.config_json.empty()) {
    fail_invalid("{}: no config.json beside the graph or one folder up (the optimum layout)",
                 info.path.string());
  }
  const std::string text = read_text_file(info.config_json);
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("{}: {}", info.config_json.string(), e.what());
  }
  return config_from_hf_json(j, info.config_json.string());
}

std::vector<RoleFile> files_of(const Info& info) {
  std::vector<RoleFile> out;
  if (info.kind == Kind::gguf) {
    out.push_back({"model", info.path});
    return out;
  }
  const std::vector<std::string> ps = precisions(info);
  const OnnxGraph* main = ps.empty() ? nullptr : main_graph(info, ps.front());
  for (const OnnxGraph& g : info.graphs) {
    const std::string stem = g.path.stem().string();
    out.push_back({main && g.path == main->path ? "model" : "graph:" + stem, g.path});
    for (const char* ext : {".onnx_data", ".onnx.data"}) {
      const fs::path data = g.path.parent_path() / (stem + ext);
      if (fs::exists(data)) out.push_back({"external_data:" + stem, data});
    }
  }
  if (!info.root.empty()) {
    const std::pair<const char*, const char*> side[] = {
        {"config", "config.json"},
        {"generation_config", "generation_config.json"},
        {"tokenizer", "tokenizer.json"},
        {"tokenizer_config", "tokenizer_config.json"},
        {"tokenizer_model", "tokenizer.model"},
        {"special_tokens_map", "special_tokens_map.json"},
        {"vocab", "vocab.json"},
        {"merges", "merges.txt"},
    };
    for (const auto& [role, name] : side) {
      if (fs::exists(info.root / name)) out.push_back({role, info.root / name});
    }
  }
  return out;
}

std::string gguf_quantization(const gguf::File& f) {
  if (const gguf::Value* v = f.find("general.file_type")) {
    const auto name = quant::llama_ftype_name(static_cast<int32_t>(v->as_i64("file_type")));
    if (!name.empty()) return std::string(name);
  }
  // No (known) file type: the type holding most matrix bytes.
  TypeBytes bytes;
  for (const auto& t : f.tensors) {
    if (t.ne.size() == 2) bytes.add(t.type, t.n_bytes);
  }
  return upper_dtype_name(bytes.most().value_or(DType::F32));
}

}  // namespace slmkit::artifact
