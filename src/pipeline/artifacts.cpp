#include "pipeline/artifacts.h"

#include <algorithm>
#include <functional>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "core/fail.h"
#include "core/stopwatch.h"
#include "slmkit/quantize.h"
#include "slmkit/quantize_auto.h"

namespace slmkit::pipeline {
namespace fs = std::filesystem;

namespace {

std::string file_safe(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) c = '_';
  }
  return s;
}

}  // namespace

std::string artifact_base_name(const Model& model, const fs::path& input,
                               const std::string& given) {
  if (!given.empty()) return file_safe(given);
  // The file or folder name the user chose: GGUF converters often set general.name to the
  // architecture ("llama"), which would name every model's artifacts alike.
  fs::path p = input;
  if (p.filename().empty()) p = p.parent_path();  // "folder/"
  std::string name = fs::is_directory(p) ? p.filename().string() : p.stem().string();
  if (name.empty() || name == "." || name == "..") name = model.config.name;
  if (name.empty()) name = "model";
  return file_safe(name);
}

std::optional<AutoBudget> parse_auto_budget(const std::string& text) {
  if (text.rfind("auto:", 0) != 0 && text.rfind("AUTO:", 0) != 0) return std::nullopt;
  const std::string v = text.substr(5);
  AutoBudget b;
  std::string number = v;
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    if (v.size() > n && v.compare(v.size() - n, n, suffix) == 0) {
      number = v.substr(0, v.size() - n);
      return true;
    }
    return false;
  };
  if (ends_with("bpw")) {
    b.kind = AutoBudget::Kind::bpw;
  } else if (ends_with("tps")) {
    b.kind = AutoBudget::Kind::tps;
  } else {
    b.kind = AutoBudget::Kind::bytes;
    ends_with("B");  // the unit may be written
  }
  size_t used = 0;
  try {
    b.value = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const bool whole = b.kind != AutoBudget::Kind::bytes ||
                     number.find_first_not_of("0123456789") == std::string::npos;
  if (number.empty() || used != number.size() || !(b.value > 0) || !whole) {
    fail_invalid(
        "pipeline: --gguf {}: expected auto:BYTES (e.g. auto:2091936), auto:BPWbpw (auto:4.5bpw) "
        "or auto:TPStps (auto:120tps)",
        text);
  }
  return b;
}

std::string auto_budget_name(const AutoBudget& b) {
  switch (b.kind) {
    case AutoBudget::Kind::bytes:
      return fmt::format("auto-{}B", static_cast<uint64_t>(b.value));
    case AutoBudget::Kind::bpw:
      return fmt::format("auto-{}bpw", b.value);
    case AutoBudget::Kind::tps:
      return fmt::format("auto-{}tps", b.value);
  }
  return "auto";
}

std::string precision_name(const ArtifactSpec& spec) {
  if (spec.is_auto()) return auto_budget_name(spec.auto_budget());
  return spec.format == ArtifactFormat::gguf
             ? std::string(quant::preset_name(spec.gguf_preset()))
             : std::string(onnx_precision_name(spec.onnx_precision()));
}

ArtifactNames artifact_names(const std::string& base, const ArtifactSpec& spec) {
  const std::string precision = precision_name(spec);
  ArtifactNames n;
  if (spec.format == ArtifactFormat::gguf) {
    n.name = base + "-" + precision;
    n.path = n.name + ".gguf";
    n.built = n.path;
    n.report_name = n.path.string();
    n.manifest = fs::path("manifests") / (n.name + ".json");
  } else {
    const fs::path folder = onnx_folder(base);
    // The graph validated and scored: the plain one (every position's logits in one pass).
    n.name = folder.string() + " (" + precision + ")";
    n.path = folder / onnx_graph_file(spec.onnx_precision(), OnnxVariant::plain);
    n.built = folder;
    n.report_name = folder.string() + "-" + precision + ".onnx";
    n.manifest = fs::path("manifests") / (folder.string() + "-" + precision + ".json");
  }
  return n;
}

fs::path onnx_folder(const std::string& base) {
  return base + "_onnx";
}

fs::path onnx_graph_file(OnnxPrecision precision, OnnxVariant variant) {
  return fs::path("onnx") / onnx_graph_file_name(variant, precision);
}

int remove_stale_temporaries(const fs::path& out) {
  int removed = 0;
  for (const fs::path& dir : {out, out / "manifests", out / "validation_reports"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().find(".partial-") != std::string::npos) {
        stale.push_back(entry.path());
      }
    }
    for (const fs::path& p : stale) {
      fs::remove_all(p, ec);
      if (!ec) ++removed;
    }
  }
  return removed;
}

namespace {

// A GGUF already at `path` is a finished one (both writers rename it into place, save_mix before
// its .mix.json) and is reused; otherwise `write` makes it, timed.
BuildOutcome reuse_or_write(const fs::path& path, const std::function<void()>& write) {
  BuildOutcome outcome;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    outcome.reused = true;
    return outcome;
  }
  const Stopwatch clock;
  write();
  outcome.seconds = clock.seconds();
  return outcome;
}

}  // namespace

BuildOutcome build_gguf(const Model& model, quant::Preset preset, const fs::path& path,
                        int n_threads) {
  return reuse_or_write(path, [&] {
    QuantizeOptions options;
    options.type = std::string(quant::preset_name(preset));
    options.n_threads = n_threads;
    // A model that is already quantized (a Q8_0 GGUF as input) is dequantized first, as
    // llama.cpp's --allow-requantize does; the report shows the input as the baseline, so this is
    // visible.
    options.allow_requantize = true;
    quantize_model_to_file(model, options, path);  // streamed: one tensor in memory at a time
  });
}

BuildOutcome build_auto_gguf(const Model& model, const AutoBudget& budget,
                             const std::string& calibration, const fs::path& path, int n_threads) {
  return reuse_or_write(path, [&] {
    QuantizeAutoOptions o;
    o.calibration_text = calibration;
    o.n_threads = n_threads;
    switch (budget.kind) {
      case AutoBudget::Kind::bytes:
        o.target_size = static_cast<uint64_t>(budget.value);
        break;
      case AutoBudget::Kind::bpw:
        o.target_bpw = budget.value;
        break;
      case AutoBudget::Kind::tps:
        o.min_decode_tps = budget.value;
        break;
    }
    quantize_auto(model, o, path);
  });
}

bool onnx_folder_complete(const fs::path& dir, const std::vector<OnnxPrecision>& precisions,
                          const std::vector<OnnxVariant>& variants) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  for (OnnxPrecision p : precisions) {
    for (OnnxVariant v : variants) {
      if (!fs::is_regular_file(dir / onnx_graph_file(p, v), ec)) return false;
    }
  }
  return true;
}

BuildOutcome build_onnx(const Model& model, const std::vector<OnnxPrecision>& precisions,
                        const std::vector<OnnxVariant>& variants, const fs::path& dir,
                        const std::function<std::map<std::string, float>()>& w8a8_scales) {
  const Stopwatch clock;
  BuildOutcome outcome;
  if (onnx_folder_complete(dir, precisions, variants)) {
    outcome.reused = true;
    return outcome;
  }
  OnnxExportOptions options;
  options.precisions = precisions;
  options.variants = variants;
  if (std::find(precisions.begin(), precisions.end(), OnnxPrecision::w8a8) != precisions.end()) {
    options.w8a8_input_max = w8a8_scales();
  }
  export_onnx(model, dir, options);
  outcome.seconds = clock.seconds();
  return outcome;
}

}  // namespace slmkit::pipeline
