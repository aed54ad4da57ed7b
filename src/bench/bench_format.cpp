// Rows to llama-bench's JSON / Markdown / CSV and back (children of `slmkit bench` hand their rows
// to the parent as JSON).
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/fail.h"
#include "slmkit/bench.h"

namespace slmkit {

const char* bench_backend_name(BenchBackend backend) {
  switch (backend) {
    case BenchBackend::slmkit:
      return "slmkit";
    case BenchBackend::llama_cpp:
      return "llama.cpp";
    case BenchBackend::onnxruntime:
      return "onnxruntime";
  }
  return "?";
}

BenchBackend bench_backend_from_name(const std::string& name) {
  if (name == "slmkit") return BenchBackend::slmkit;
  if (name == "llama.cpp" || name == "llama_cpp" || name == "llama") return BenchBackend::llama_cpp;
  if (name == "onnxruntime" || name == "ort") return BenchBackend::onnxruntime;
  fail_invalid("backend '{}': expected slmkit, llama.cpp or ort", name);
}

std::string BenchRow::test() const {
  if (n_prompt > 0 && n_gen > 0) return fmt::format("pp{}+tg{}", n_prompt, n_gen);
  return n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen);
}

nlohmann::ordered_json BenchRow::to_json() const {
  nlohmann::ordered_json j;
  // llama-bench's names first, in its order.
  j["backends"] = bench_backend_name(backend);
  j["model_filename"] = model_filename;
  j["model_type"] = model_type;
  j["model_size"] = model_size;
  j["model_n_params"] = model_n_params;
  j["n_threads"] = n_threads;
  j["type_k"] = type_k;
  j["type_v"] = type_k;
  j["n_prompt"] = n_prompt;
  j["n_gen"] = n_gen;
  j["avg_ns"] = static_cast<uint64_t>(std::llround(avg_ns));
  j["stddev_ns"] = static_cast<uint64_t>(std::llround(stddev_ns));
  j["avg_ts"] = avg_ts;
  j["stddev_ts"] = stddev_ts;
  auto ns = nlohmann::ordered_json::array();
  for (double v : samples_ns) ns.push_back(static_cast<uint64_t>(std::llround(v)));
  j["samples_ns"] = ns;
  j["samples_ts"] = samples_ts;
  // Ours.
  j["backend"] = bench_backend_name(backend);
  j["test"] = test();
  j["ms_per_token"] = ms_per_token;
  j["ttft_ms"] = ttft_ms;
  j["peak_rss_bytes"] = peak_rss_bytes;
  j["bytes_per_token"] = bytes_per_token;
  if (copy_bandwidth > 0) j["copy_bandwidth"] = copy_bandwidth;
  if (!backend_build.empty()) j["backend_build"] = backend_build;
  return j;
}

BenchRow bench_row_from_json(const nlohmann::json& j) {
  try {
    BenchRow r;
    r.backend = bench_backend_from_name(j.at("backend").get<std::string>());
    r.model_filename = j.at("model_filename").get<std::string>();
    r.model_type = j.at("model_type").get<std::string>();
    r.model_size = j.at("model_size").get<uint64_t>();
    r.model_n_params = j.at("model_n_params").get<uint64_t>();
    r.n_threads = j.at("n_threads").get<int>();
    r.type_k = j.at("type_k").get<std::string>();
    r.n_prompt = j.at("n_prompt").get<int64_t>();
    r.n_gen = j.at("n_gen").get<int64_t>();
    r.samples_ns = j.at("samples_ns").get<std::vector<double>>();
    r.samples_ts = j.at("samples_ts").get<std::vector<double>>();
    r.avg_ns = j.at("avg_ns").get<double>();
    r.stddev_ns = j.at("stddev_ns").get<double>();
    r.avg_ts = j.at("avg_ts").get<double>();
    r.stddev_ts = j.at("stddev_ts").get<double>();
    r.ms_per_token = j.at("ms_per_token").get<double>();
    r.ttft_ms = j.at("ttft_ms").get<double>();
    r.peak_rss_bytes = j.at("peak_rss_bytes").get<uint64_t>();
    r.bytes_per_token = j.value("bytes_per_token", uint64_t{0});
    r.copy_bandwidth = j.value("copy_bandwidth", 0.0);
    r.backend_build = j.value("backend_build", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("benchmark row JSON: {}", e.what());
  }
}

nlohmann::ordered_json bench_rows_json(const std::vector<BenchRow>& rows) {
  auto a = nlohmann::ordered_json::array();
  for (const BenchRow& r : rows) a.push_back(r.to_json());
  return a;
}

namespace {

std::string mib(uint64_t bytes) {
  return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

std::string params(uint64_t n) {
  return n >= 1000000000 ? fmt::format("{:.2f} B", static_cast<double>(n) * 1e-9)
                         : fmt::format("{:.2f} M", static_cast<double>(n) * 1e-6);
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

}  // namespace

std::string format_bench_markdown(const std::vector<BenchRow>& rows) {
  std::string s =
      "| model | size | params | backend | threads | test | t/s | ms/token | ttft ms | peak RSS |\n"
      "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const BenchRow& r : rows) {
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {:.2f} ± {:.2f} | {:.3f} | {:.2f} | {} |\n",
                     r.model_type, mib(r.model_size), params(r.model_n_params),
                     bench_backend_name(r.backend), r.n_threads, r.test(), r.avg_ts, r.stddev_ts,
                     r.ms_per_token, r.ttft_ms, mib(r.peak_rss_bytes));
  }
  return s;
}

std::string format_bench_csv(const std::vector<BenchRow>& rows) {
  std::string s =
      "backend,model_filename,model_type,model_size,model_n_params,n_threads,type_k,n_prompt,"
      "n_gen,test,avg_ns,stddev_ns,avg_ts,stddev_ts,ms_per_token,ttft_ms,peak_rss_bytes\n";
  for (const BenchRow& r : rows) {
    s += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.0f},{:.0f},{:.6f},{:.6f},{:.6f},{:.6f},{}\n",
                     bench_backend_name(r.backend), csv_quote(r.model_filename),
                     csv_quote(r.model_type), r.model_size, r.model_n_params, r.n_threads, r.type_k,
                     r.n_prompt, r.n_gen, r.test(), r.avg_ns, r.stddev_ns, r.avg_ts, r.stddev_ts,
                     r.ms_per_token, r.ttft_ms, r.peak_rss_bytes);
  }
  return s;
}

std::string format_bench_ratios(const std::vector<BenchRow>& rows) {
  // slmkit's t/s over each other backend's, for the same model file and test.
  std::map<std::pair<std::string, std::string>, const BenchRow*> ours;
  for (const BenchRow& r : rows) {
    if (r.backend == BenchBackend::slmkit) ours[{r.model_filename, r.test()}] = &r;
  }
  std::string s;
  for (const BenchRow& r : rows) {
    if (r.backend == BenchBackend::slmkit || r.avg_ts <= 0) continue;
    auto it = ours.find({r.model_filename, r.test()});
    if (it == ours.end()) continue;
    if (s.empty())
      s = "| model | test | vs | slmkit t/s | their t/s | ratio |\n| --- | ---: | --- | ---: | "
          "---: | ---: |\n";
    s += fmt::format("| {} | {} | {} | {:.2f} | {:.2f} | {:.2f}x |\n", it->second->model_type,
                     r.test(), bench_backend_name(r.backend), it->second->avg_ts, r.avg_ts,
                     it->second->avg_ts / r.avg_ts);
  }
  return s;
}

std::string format_bench_builds(const std::vector<BenchRow>& rows) {
  std::string s;
  std::set<std::string> seen;
  for (const BenchRow& r : rows) {
    if (r.backend_build.empty() || !seen.insert(r.backend_build).second) continue;
    s += fmt::format("{}: {}\n", bench_backend_name(r.backend), r.backend_build);
  }
  return s;
}

}  // namespace slmkit
