// Encode throughput (MB/s of input text) of slmkit's tokenizer and llama.cpp's on the same text
// (WikiText-2's wiki.test.raw) with the same vocabularies (llama.cpp's ggml-vocab-*.gguf), in one
// run, then a side-by-side table of the medians and their ratio. Both encode the whole text in
// one call without BOS/EOS and without parsing special tokens; the ids are checked to agree.
//
//   build/bench/tokenizer_bench [--benchmark_repetitions=N] [--benchmark_filter=REGEX]
//
// SLMKIT_FIXTURES_DIR overrides where the text is looked for (default ../shared/fixtures).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "peers/llama_cpp_peer.h"
#include "slmkit/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using slmkit::Tokenizer;
using slmkit::peers::LlamaCppModel;
using slmkit::peers::LlamaCppPeer;

struct Entry {
  std::string name;  // ggml-vocab-NAME.gguf
  std::shared_ptr<Tokenizer> ours;
  std::shared_ptr<LlamaCppModel> theirs;
  std::string agreement;  // "identical" or what differs
};

// Keeps the median of each benchmark's repetitions: name -> bytes per second.
class MedianCollector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> median_bytes_per_second;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.aggregate_name == "median") {
        auto it = r.counters.find("bytes_per_second");
        if (it != r.counters.end()) median_bytes_per_second[r.run_name.function_name] = it->second;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

std::string first_difference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return "identical";
  return fmt::format("DIFFER at token {} of {} / {}", i, a.size(), b.size());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const char* env = std::getenv("SLMKIT_FIXTURES_DIR");
  const fs::path fixtures =
      env ? fs::path(env) : fs::path(SLMKIT_SOURCE_DIR) / "../shared/fixtures";
  const fs::path models = fs::path(SLMKIT_SOURCE_DIR) / "third_party/peers/llama.cpp/models";
  const fs::path text_path = fixtures / "text/wiki.test.raw";
  if (!fs::exists(text_path) || !fs::exists(models)) {
    std::fprintf(stderr, "tokenizer_bench: needs %s and %s\n", text_path.c_str(), models.c_str());
    return 2;
  }
  static const std::string text = read_file(text_path);
  const bool have_peer = LlamaCppPeer::available();
  if (!have_peer) {
    std::fprintf(stderr, "tokenizer_bench: llama.cpp unavailable (%s); timing slmkit only\n",
                 LlamaCppPeer::unavailable_reason().c_str());
  }

  std::vector<Entry> entries;
  for (const char* name : {"gpt-2", "llama-spm", "llama-bpe", "gemma-4"}) {
    const fs::path gguf = models / fmt::format("ggml-vocab-{}.gguf", name);
    Entry e;
    e.name = name;
    e.ours = std::make_shared<Tokenizer>(slmkit::gguf::read_vocab(slmkit::gguf::read_file(gguf)));
    if (have_peer) {
      e.theirs = std::make_shared<LlamaCppModel>(LlamaCppModel::load_vocab(gguf));
      e.agreement = first_difference(e.ours->encode(text, false, false),
                                     e.theirs->tokenize(text, false, false));
    }
    entries.push_back(e);
  }

  for (const Entry& e : entries) {
    auto ours = e.ours;
    benchmark::RegisterBenchmark(
        ("encode/" + e.name + "/slmkit").c_str(),
        [ours](benchmark::State& state) {
          for (auto _ : state) {
            auto ids = ours->encode(text, false, false);
            benchmark::DoNotOptimize(ids.data());
          }
          state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                                  static_cast<int64_t>(text.size()));
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(5)
        ->ReportAggregatesOnly(true);
    if (!e.theirs) continue;
    auto theirs = e.theirs;
    benchmark::RegisterBenchmark(
        ("encode/" + e.name + "/llama.cpp").c_str(),
        [theirs](benchmark::State& state) {
          for (auto _ : state) {
            auto ids = theirs->tokenize(text, false, false);
            benchmark::DoNotOptimize(ids.data());
          }
          state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                                  static_cast<int64_t>(text.size()));
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(5)
        ->ReportAggregatesOnly(true);
  }

  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nEncode throughput on %s (%zu bytes), median of the repetitions:\n",
              text_path.filename().c_str(), text.size());
  std::printf("%-11s %14s %15s %8s  %s\n", "vocab", "slmkit MB/s", "llama.cpp MB/s", "ratio",
              "ids");
  for (const Entry& e : entries) {
    const auto& m = reporter.median_bytes_per_second;
    auto ours = m.find("encode/" + e.name + "/slmkit");
    auto theirs = m.find("encode/" + e.name + "/llama.cpp");
    if (ours == m.end()) continue;
    const double a = ours->second / 1e6;
    if (theirs == m.end()) {
      std::printf("%-11s %14.2f %15s %8s\n", e.name.c_str(), a, "-", "-");
      continue;
    }
    const double b = theirs->second / 1e6;
    std::printf("%-11s %14.2f %15.2f %7.2fx  %s\n", e.name.c_str(), a, b, a / b,
                e.agreement.c_str());
  }
  return 0;
}
