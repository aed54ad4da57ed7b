// Resident memory of a loaded model: a matrix the engine repacks into its own memory must not stay
// resident a second time as the file's mapped pages (issue 15: a Q4_0 model peaked at twice its
// file). Measured per mapping in /proc/self/smaps, which other allocations of the test process
// do not disturb, unlike the process-wide VmHWM.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "kernels/packed_layouts.h"
#include "kernels/quant_kernels.h"
#include "slmkit/engine.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/synth.h"

namespace slmkit {
namespace {

// Resident bytes of every mapping of `file` in this process; -1 without /proc/self/smaps.
int64_t mapped_rss(const std::filesystem::path& file) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return -1;
  const std::string target = std::filesystem::canonical(file).string();
  int64_t kb = 0;
  bool inside = false;
  std::string line;
  while (std::getline(smaps, line)) {
    // A mapping's header: "start-end perms offset dev inode [path]"; its fields follow, "Key: v".
    std::istringstream in(line);
    std::string first;
    in >> first;
    if (first.empty()) continue;
    if (first.back() != ':') {
      std::string perms, offset, dev, inode, path;
      in >> perms >> offset >> dev >> inode;
      std::getline(in >> std::ws, path);
      inside = path == target;
    } else if (inside && first == "Rss:") {
      int64_t v = 0;
      in >> v;
      kb += v;
    }
  }
  return kb * 1024;
}

TEST(EngineMemory, RepackedMatricesLeaveTheMappedFile) {
  if (!std::ifstream("/proc/self/smaps")) GTEST_SKIP() << "no /proc/self/smaps on this system";
  if (!kernels::has_packed_kernel(DType::Q4_0))
    GTEST_SKIP() << "this ISA has no packed Q4_0 layout: nothing is repacked";
  SynthOptions so;
  so.arch = "llama";
  so.shape = "tiny";
  so.seed = 3;
  so.tokenizer_dirs = {};  // a byte-level vocabulary: no fixtures needed
  const Model synth = synthesize_model(so);
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) /
                                     ("slmkit_memory_q4_0_" + std::to_string(::getpid()) + ".gguf");
  QuantizeOptions qo;
  qo.type = "Q4_0";
  qo.pure = true;  // every matrix Q4_0, so every one but the embedding lookup is repacked
  qo.n_threads = 2;
  quantize_model_to_file(synth, qo, path);
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  {
    Model model = load_model(path);
    int64_t packed = 0, n_packed = 0;
    for (const Tensor& t : model.tensors()) {
      const kernels::MatrixRef w{t.dtype(), t.data(), t.rank() == 2 ? t.dim(0) : 0,
                                 t.rank() == 2 ? t.dim(1) : 0, 0};
      if (t.dtype() == DType::Q4_0 && t.name() != "token_embd.weight" && t.rank() == 2 &&
          kernels::packed_bytes(w) > 0) {
        packed += static_cast<int64_t>(t.n_bytes());
        ++n_packed;
      }
    }
    ASSERT_GT(packed, file_bytes / 3) << "the test model should be mostly repacked matrices";
    const Engine engine(std::move(model));
    // Whatever of the file is not repacked may be resident (header, embedding, norms), plus the
    // two pages at the ends of each repacked tensor, which it shares with its neighbours.
    const int64_t page = ::sysconf(_SC_PAGESIZE);
    const int64_t bound = file_bytes - packed + 2 * page * n_packed;
    const int64_t rss = mapped_rss(path);
    EXPECT_LE(rss, bound) << "file " << file_bytes << " bytes, " << packed
                          << " of them repacked in " << n_packed << " matrices";
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace slmkit
