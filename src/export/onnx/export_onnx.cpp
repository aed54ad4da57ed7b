// write_onnx_graph and the optimum / transformers.js style folder.
#include <algorithm>
#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/fail.h"
#include "export/onnx/decoder_graph.h"
#include "formats/model_io.h"
#include "slmkit/export_onnx.h"

namespace slmkit {

namespace fs = std::filesystem;

namespace {

// Moves the raw data of initializers of at least `min_bytes` into one file beside the graph and
// points the tensors at it (ONNX external data: location, offset, length; 64-byte aligned).
std::string externalize(onnx::ModelProto& proto, uint64_t min_bytes, const std::string& location) {
  std::string data;
  for (onnx::TensorProto& t : *proto.mutable_graph()->mutable_initializer()) {
    if (t.raw_data().size() < min_bytes) continue;
    data.resize((data.size() + 63) / 64 * 64, '\0');
    const size_t offset = data.size();
    data += t.raw_data();
    t.clear_raw_data();
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* key, const std::string& value) {
      onnx::StringStringEntryProto* e = t.add_external_data();
      e->set_key(key);
      e->set_value(value);
    };
    add("location", location);
    add("offset", std::to_string(offset));
    add("length", std::to_string(data.size() - offset));
  }
  return data;
}

}  // namespace

void write_onnx_graph(const Model& model, const OnnxGraphOptions& options, const fs::path& path) {
  onnx::ModelProto proto = onnx_export::build_decoder(model, options);
  // protobuf refuses messages of 2 GiB and more; leave room for the graph itself.
  constexpr uint64_t kProtobufLimit = uint64_t{1} << 31;
  // Checked while the weights are inline: ONNX 1.12's checker looks for external data files
  // relative to the working directory.
  if (options.check) {
    onnx_export::check_onnx_model(proto, path.filename().string());
  }
  uint64_t min_bytes = options.external_data_min_bytes;
  if (min_bytes == 0 && proto.ByteSizeLong() >= kProtobufLimit - (uint64_t{64} << 20)) {
    min_bytes = 1024;
  }
  const std::string location = path.filename().string() + "_data";
  const std::string data = min_bytes > 0 ? externalize(proto, min_bytes, location) : "";
  if (proto.ByteSizeLong() >= kProtobufLimit) {
    fail_unsupported(
        "ONNX export: {} would be {} bytes even with its weights in external data, "
        "over protobuf's 2 GiB limit",
        path.string(), proto.ByteSizeLong());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    fail(ErrorKind::internal, "ONNX export: protobuf could not serialize {}", path.string());
  }
  if (!data.empty()) {
    AtomicFile side(path.parent_path() / location);
    side.write(data);
    side.commit();
  }
  AtomicFile out(path);
  out.write(bytes);
  out.commit();
}

namespace {

// What transformers.js reads from config.json beyond the model's own fields: use_cache, and in
// "transformers.js_config" the default dtype when there is no fp32 graph (it would look for
// model.onnx), the f16 KV cache of the fp16 / q4f16 graphs (transformers.js 3.x sizes the empty
// past from kv_cache_dtype; 4.x reads the graph's input types) and which graphs keep their
// weights in external data (browsers fetch NAME.onnx_data only when told).
void add_runtime_config(const fs::path& config_path, const OnnxExportOptions& options,
                        const std::vector<OnnxExportedFile>& graphs) {
  // Our own Hugging Face writer wrote this file a moment ago.
  std::ifstream in(config_path, std::ios::binary);
  nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(in);
  const auto& v = options.variants;
  cfg["use_cache"] = std::find(v.begin(), v.end(), OnnxVariant::with_past) != v.end();
  nlohmann::ordered_json js = nlohmann::ordered_json::object();
  const auto& ps = options.precisions;
  // transformers.js knows no w8a8 dtype (such a graph is loaded by file name: model_file_name
  // "model_w8a8", dtype "fp32"), so the default is the first precision it can name.
  const auto named =
      std::find_if(ps.begin(), ps.end(), [](OnnxPrecision p) { return p != OnnxPrecision::w8a8; });
  if (std::find(ps.begin(), ps.end(), OnnxPrecision::fp32) == ps.end() && named != ps.end()) {
    js["dtype"] = onnx_precision_name(*named);
  }
  nlohmann::ordered_json kv = nlohmann::ordered_json::object();
  for (OnnxPrecision p : ps) {
    if (p == OnnxPrecision::fp16 || p == OnnxPrecision::q4f16) {
      kv[onnx_precision_name(p)] = "float16";
    }
  }
  if (!kv.empty()) js["kv_cache_dtype"] = kv;
  nlohmann::ordered_json external = nlohmann::ordered_json::object();
  for (const OnnxExportedFile& f : graphs) {
    const std::string name = f.path.filename().string();
    if (name.ends_with(".onnx_data")) external[name.substr(0, name.size() - 5)] = 1;
  }
  if (!external.empty()) js["use_external_data_format"] = external;
  if (!js.empty()) cfg["transformers.js_config"] = js;
  write_file_atomic(config_path, cfg.dump(2) + "\n");
}

}  // namespace

OnnxExportResult export_onnx(const Model& model, const fs::path& dir,
                             const OnnxExportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.variants.empty() || options.precisions.empty()) {
    fail_invalid("ONNX export: no variant or no precision selected");
  }
  if (options.q4_embedding &&
      std::none_of(options.precisions.begin(), options.precisions.end(), [](OnnxPrecision p) {
        return p == OnnxPrecision::q4 || p == OnnxPrecision::q4f16;
      })) {
    fail_unsupported("ONNX export: q4 embedding needs precision q4 or q4f16 among those selected");
  }
  const fs::path temp = temporary_name(dir);
  std::error_code ec;
  fs::remove_all(temp, ec);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      if (!p.empty()) fs::remove_all(p, e);
    }
  } cleanup{temp};

  // config.json and the tokenizer files, as our Hugging Face writer lays them out; the weights
  // it writes beside them are not part of an ONNX folder.
  const fs::path hf = temp / "hf";
  write_hf_folder(model, hf);
  for (const auto& entry : fs::directory_iterator(hf)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")) continue;
    fs::rename(entry.path(), temp / name);
  }
  fs::remove_all(hf);
  nlohmann::ordered_json gen = nlohmann::ordered_json::object();
  if (model.config.bos_id >= 0) gen["bos_token_id"] = model.config.bos_id;
  if (model.config.eos_id >= 0) gen["eos_token_id"] = model.config.eos_id;
  if (model.config.pad_id >= 0) gen["pad_token_id"] = model.config.pad_id;
  gen["max_length"] = model.config.context_length;
  write_file_atomic(temp / "generation_config.json", gen.dump(2) + "\n");

  OnnxExportResult result;
  fs::create_directories(temp / "onnx");
  const auto n_graphs = static_cast<int64_t>(options.precisions.size() * options.variants.size());
  int64_t n_written = 0;
  for (OnnxPrecision p : options.precisions) {
    for (OnnxVariant v : options.variants) {
      options.cancel.throw_if_cancelled();
      if (options.on_progress) {
        options.on_progress(n_written, n_graphs, "graph onnx/" + onnx_graph_file_name(v, p));
      }
      ++n_written;
      OnnxGraphOptions g;
      g.variant = v;
      g.precision = p;
      g.max_length = options.max_length;
      g.check = options.check;
      g.int8_per_channel = options.int8_per_channel;
      g.int8_weights = options.int8_weights;
      if (p == OnnxPrecision::w8a8) g.w8a8_input_max = options.w8a8_input_max;
      g.external_data_min_bytes = options.external_data_min_bytes;
      g.q4_block_size = options.q4_block_size;
      g.q4_symmetric = options.q4_symmetric;
      g.q4_accuracy_level = options.q4_accuracy_level;
      g.q4_embedding =
          options.q4_embedding && (p == OnnxPrecision::q4 || p == OnnxPrecision::q4f16);
      const fs::path rel = fs::path("onnx") / onnx_graph_file_name(v, p);
      write_onnx_graph(model, g, temp / rel);
      result.files.push_back({rel, fs::file_size(temp / rel)});
      const fs::path data = fs::path(rel.string() + "_data");
      if (fs::exists(temp / data)) result.files.push_back({data, fs::file_size(temp / data)});
    }
  }
  add_runtime_config(temp / "config.json", options, result.files);
  // The folder's other files (config, tokenizer) after the graphs, so that the listing covers
  // everything written.
  std::vector<OnnxExportedFile> others;
  for (const auto& entry : fs::directory_iterator(temp)) {
    if (entry.is_regular_file()) {
      others.push_back({entry.path().filename(), fs::file_size(entry.path())});
    }
  }
  std::sort(others.begin(), others.end(),
            [](const OnnxExportedFile& a, const OnnxExportedFile& b) { return a.path < b.path; });
  result.files.insert(result.files.end(), others.begin(), others.end());
  options.cancel.throw_if_cancelled();  // the last moment before DIR is replaced
  if (fs::exists(dir)) {
    if (!fs::is_directory(dir)) fail_io("ONNX export: {} exists and is not a folder", dir.string());
    fs::remove_all(dir);
  }
  fs::rename(temp, dir, ec);
  if (ec)
    fail_io("ONNX export: cannot rename {} to {}: {}", temp.string(), dir.string(), ec.message());
  cleanup.p.clear();
  if (options.on_progress) options.on_progress(n_graphs, n_graphs, "exported");
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace slmkit
