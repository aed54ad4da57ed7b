// Opening llama.cpp: find libllama in the library directory, dlopen it, resolve every function the
// adapter uses, check that the header's structs match the binary, route its log, and load the
// best ggml CPU backend variant for this machine through ggml's own backend registry.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "core/fail.h"
#include "peers/llama_cpp_peer.h"

#if SLMKIT_HAVE_LLAMA_CPP
#include "peers/llama_cpp_api.h"
#endif

namespace slmkit::peers {
namespace {

namespace fs = std::filesystem;

// The sink is process-wide because llama.cpp's logger is; the mutex also serializes the sink's
// calls, which arrive from ggml's worker threads too.
struct LogState {
  std::mutex mutex;
  LlamaCppLogSink sink;
};

void write_to_stderr(LlamaCppLogLevel, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
}

// Never destroyed: ggml's own static destructors may still log while the process exits.
LogState& log_state() {
  static LogState* state = [] {
    auto* s = new LogState;
    const char* env = std::getenv("SLMKIT_LLAMA_CPP_LOG");
    if (env && *env && std::string_view(env) != "0") s->sink = write_to_stderr;
    return s;
  }();
  return *state;
}

}  // namespace

fs::path LlamaCppPeer::library_dir() {
  return choose_llama_cpp_build(llama_cpp_build_search()).library_dir;
}

std::string LlamaCppRuntimeInfo::describe() const {
  std::string s = fmt::format("llama.cpp {} build (GGML_NATIVE={}", build.kind,
                              build.ggml_native ? "ON" : "OFF");
  if (!build.commit.empty()) s += ", commit " + build.commit.substr(0, 12);
  if (!build.compiler.empty()) s += ", " + build.compiler;
  if (!build.built_for.empty()) s += ", built on " + build.built_for;
  if (!version.empty()) s += ", llama_version " + version;
  s += fmt::format(") from {}; CPU backend {}", llama_library.string(),
                   cpu_variant.empty() ? std::string("?") : cpu_variant);
  if (!cpu_features.empty()) {
    std::string features;
    for (const std::string& f : cpu_features) features += (features.empty() ? "" : " ") + f;
    s += " (" + features + ")";
  }
  if (!build.note.empty()) s += "; " + build.note;
  return s;
}

void LlamaCppPeer::set_log_sink(LlamaCppLogSink sink) {
  LogState& state = log_state();
  std::lock_guard lock(state.mutex);
  state.sink = std::move(sink);
}

void LlamaCppPeer::forward_log_to_stderr() {
  set_log_sink(write_to_stderr);
}

#if SLMKIT_HAVE_LLAMA_CPP

namespace {

// Error-level text logged on this thread while a LlamaCppErrorCapture is alive.
thread_local bool t_capturing = false;
thread_local std::string t_captured;
constexpr size_t kMaxCaptured = 4096;

}  // namespace

namespace detail {

LlamaCppErrorCapture::LlamaCppErrorCapture() : outer_(!t_capturing) {
  if (outer_) {
    t_capturing = true;
    t_captured.clear();
  }
}

LlamaCppErrorCapture::~LlamaCppErrorCapture() {
  if (outer_) t_capturing = false;
}

std::string LlamaCppErrorCapture::explain() const {
  std::string text = t_captured;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (text.empty()) return "llama.cpp logged no error";
  return "llama.cpp logged: " + text;
}

}  // namespace detail

namespace {

// GGML_LOG_LEVEL_CONT continues the previous line, at that line's level.
thread_local ggml_log_level t_last_level = GGML_LOG_LEVEL_INFO;

void log_trampoline(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_CONT) {
    level = t_last_level;
  } else {
    t_last_level = level;
  }
  if (!text) return;
  std::string_view view(text);
  if (level == GGML_LOG_LEVEL_ERROR && t_capturing && t_captured.size() < kMaxCaptured) {
    t_captured.append(view.substr(0, kMaxCaptured - t_captured.size()));
  }
  LogState& state = log_state();
  std::lock_guard lock(state.mutex);
  if (!state.sink) return;
  LlamaCppLogLevel ours = LlamaCppLogLevel::info;
  switch (level) {
    case GGML_LOG_LEVEL_DEBUG:
      ours = LlamaCppLogLevel::debug;
      break;
    case GGML_LOG_LEVEL_WARN:
      ours = LlamaCppLogLevel::warn;
      break;
    case GGML_LOG_LEVEL_ERROR:
      ours = LlamaCppLogLevel::error;
      break;
    default:
      break;
  }
  try {
    state.sink(ours, view);
  } catch (...) {
    // An exception must not unwind through llama.cpp's C frames; the line is lost instead.
  }
}

// libllama.so, libllama.so.1, or the versioned name node-llama-cpp ships (libllama.v0.5.0.so);
// never libllama-common.so, which is llama.cpp's example helper library.
fs::path find_llama_library(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail_io(
        "llama.cpp library directory {} does not exist (SLMKIT_LLAMA_CPP_DIR overrides the "
        "compiled-in default)",
        dir.string());
  }
  if (fs::is_regular_file(dir / "libllama.so", ec)) return dir / "libllama.so";
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("libllama.") &&
        (name.ends_with(".so") || name.find(".so.") != std::string::npos)) {
      candidates.push_back(entry.path());
    }
  }
  if (candidates.empty()) {
    fail_io("no libllama*.so in {} (expected libllama.so or libllama.vX.Y.Z.so)", dir.string());
  }
  std::sort(candidates.begin(), candidates.end());
  return candidates.front();
}

template <typename Fn>
void resolve(void* handle, const fs::path& library, const char* name, Fn& out) {
  dlerror();
  void* symbol = dlsym(handle, name);
  if (!symbol) {
    fail_unsupported(
        "{} does not export {}, which llama.h from third_party/peers/llama.cpp "
        "declares: the headers and the binary are from different releases",
        library.string(), name);
  }
  out = reinterpret_cast<Fn>(symbol);
}

// Structs cross this boundary by value, so a header from another release would corrupt memory.
// The defaults llama.cpp fills in sit at fixed places in each struct; reading back the known ones
// catches a layout that moved.
void check_struct_layouts(const detail::LlamaCppApi& api, const fs::path& library) {
  const llama_context_params c = api.llama_context_default_params();
  const llama_model_params m = api.llama_model_default_params();
  const llama_model_quantize_params q = api.llama_model_quantize_default_params();
  const bool context_ok = c.n_batch == 2048 && c.n_ubatch == 512 && c.n_seq_max == 1 &&
                          c.type_k == GGML_TYPE_F16 && c.type_v == GGML_TYPE_F16 && !c.embeddings &&
                          c.offload_kqv && c.samplers == nullptr && c.ctx_other == nullptr;
  const bool model_ok = m.devices == nullptr && m.n_gpu_layers == -1 && !m.vocab_only &&
                        m.use_extra_bufts && m.kv_overrides == nullptr;
  const bool quantize_ok = q.ftype == LLAMA_FTYPE_MOSTLY_Q8_0 &&
                           q.output_tensor_type == GGML_TYPE_COUNT && q.quantize_output_tensor &&
                           q.imatrix == nullptr;
  if (!context_ok || !model_ok || !quantize_ok) {
    fail_unsupported(
        "{}: default {} params read back wrong through llama.h from "
        "third_party/peers/llama.cpp; the header and binary disagree on struct "
        "layout (different releases)",
        library.string(), !context_ok ? "context" : (!model_ok ? "model" : "quantize"));
  }
}

std::string variant_of(const fs::path& backend_file) {
  const std::string stem = backend_file.stem().string();  // libggml-cpu-zen4
  const std::string prefix = "libggml-cpu-";
  if (stem.starts_with(prefix)) return stem.substr(prefix.size());
  return "built-in (" + backend_file.filename().string() + ")";
}

struct Runtime {
  detail::LlamaCppApi api;
  LlamaCppRuntimeInfo info;
};

Runtime open_runtime() {
  Runtime rt;
  LlamaCppRuntimeInfo& info = rt.info;
  detail::LlamaCppApi& api = rt.api;
  info.build = choose_llama_cpp_build(llama_cpp_build_search());
  info.library_dir = info.build.library_dir;
  if (info.library_dir.empty()) {
    fail_unsupported(
        "no llama.cpp library directory: SLMKIT_LLAMA_CPP_DIR is unset and none was "
        "compiled in");
  }
  info.llama_library = find_llama_library(info.library_dir);

  // Never closed: ggml's registry keeps backend handles and static destructors that must run
  // while the code is still mapped. RTLD_LOCAL keeps its symbols out of everyone else's way.
  void* handle = dlopen(info.llama_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) fail_unsupported("dlopen {} failed: {}", info.llama_library.string(), dlerror());

    // dlsym on libllama's handle also searches its dependencies (libggml, libggml-base).
#define SLMKIT_LLAMA_CPP_RESOLVE(name) resolve(handle, info.llama_library, #name, api.name);
  SLMKIT_LLAMA_CPP_FUNCTIONS(SLMKIT_LLAMA_CPP_RESOLVE)
#undef SLMKIT_LLAMA_CPP_RESOLVE

  check_struct_layouts(api, info.llama_library);
  api.llama_log_set(log_trampoline, nullptr);

  // The CPU backend is a plugin here: ggml scores each libggml-cpu-<variant>.so in the directory
  // against this CPU's features and loads the best. llama_backend_init() would instead search
  // the executable's directory and the working directory, so the load must come first.
  // SLMKIT_LLAMA_CPP_CPU_VARIANT=haswell forces one variant, to compare them on one machine.
  ggml_backend_reg_t cpu = nullptr;
  if (const char* forced = std::getenv("SLMKIT_LLAMA_CPP_CPU_VARIANT"); forced && *forced) {
    const fs::path file = info.library_dir / (std::string("libggml-cpu-") + forced + ".so");
    info.cpu_variant_forced = true;
    detail::LlamaCppErrorCapture capture;
    cpu = api.ggml_backend_load(file.c_str());
    if (!cpu) {
      fail_unsupported(
          "SLMKIT_LLAMA_CPP_CPU_VARIANT={}: ggml could not load {} (missing, or not "
          "supported by this CPU); {}",
          forced, file.string(), capture.explain());
    }
  } else {
    api.ggml_backend_load_all_from_path(info.library_dir.c_str());
    cpu = api.ggml_backend_reg_by_name("CPU");
    if (!cpu) {
      fail_unsupported("ggml loaded no CPU backend from {} (no libggml-cpu-*.so this CPU can run)",
                       info.library_dir.string());
    }
  }
  api.llama_backend_init();

  using GetFeatures = ggml_backend_get_features_t;
  auto* get_features = reinterpret_cast<GetFeatures>(
      api.ggml_backend_reg_get_proc_address(cpu, "ggml_backend_get_features"));
  if (get_features) {
    for (const ggml_backend_feature* f = get_features(cpu); f && f->name; ++f) {
      const std::string_view value = f->value ? f->value : "";
      info.cpu_features.push_back(value == "1" ? std::string(f->name)
                                               : std::string(f->name) + "=" + std::string(value));
    }
    // The function lives in the backend file that was loaded: that file names the variant.
    Dl_info where{};
    if (dladdr(reinterpret_cast<void*>(get_features), &where) && where.dli_fname) {
      info.cpu_backend = where.dli_fname;
      info.cpu_variant = variant_of(info.cpu_backend);
    }
  }
  if (api.ggml_backend_reg_dev_count(cpu) > 0) {
    const char* description =
        api.ggml_backend_dev_description(api.ggml_backend_reg_dev_get(cpu, 0));
    if (description) info.cpu_description = description;
  }
  api.ggml_threadpool_new = reinterpret_cast<decltype(api.ggml_threadpool_new)>(
      api.ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_new"));
  api.ggml_threadpool_free = reinterpret_cast<decltype(api.ggml_threadpool_free)>(
      api.ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_free"));
  if (const char* version = api.llama_version()) info.version = version;
  if (const char* system = api.llama_print_system_info()) info.system_info = system;
  return rt;
}

struct LoadResult {
  std::optional<Runtime> runtime;
  std::string reason;
};

const LoadResult& load_result() {
  static const LoadResult result = [] {
    LoadResult r;
    try {
      r.runtime = open_runtime();
    } catch (const std::exception& e) {
      r.reason = e.what();
    }
    return r;
  }();
  return result;
}

}  // namespace

namespace detail {

const LlamaCppApi& llama_cpp_api() {
  const LoadResult& r = load_result();
  if (!r.runtime) fail_unsupported("llama.cpp peer not available: {}", r.reason);
  return r.runtime->api;
}

}  // namespace detail

bool LlamaCppPeer::available() {
  return load_result().runtime.has_value();
}

std::string LlamaCppPeer::unavailable_reason() {
  return load_result().reason;
}

const LlamaCppRuntimeInfo& LlamaCppPeer::runtime() {
  const LoadResult& r = load_result();
  if (!r.runtime) fail_unsupported("llama.cpp peer not available: {}", r.reason);
  return r.runtime->info;
}

#else  // built without the llama.cpp headers

bool LlamaCppPeer::available() {
  return false;
}

std::string LlamaCppPeer::unavailable_reason() {
  return "slmkit was built without llama.cpp's headers (third_party/peers/llama.cpp/include was "
         "absent at configure time), so it cannot call the prebuilt library";
}

const LlamaCppRuntimeInfo& LlamaCppPeer::runtime() {
  fail_unsupported("llama.cpp peer not available: {}", unavailable_reason());
}

#endif

}  // namespace slmkit::peers
