// The quality table's claim, on a small scale: at the same type (so the same size), slmkit's file
// quantized with an importance matrix (--imatrix-best) has a KL divergence from the F32 model no
// larger than llama.cpp's default file's. One measuring tool for both: llama.cpp's runtime
// evaluates each file on the held-out tail of the TinyStories subset (8 chunks of 256 tokens) and
// compute_kl_divergence compares with the F32 model's saved log-probabilities. The imatrix is
// collected by slmkit on 8 chunks of the text before that tail. The full table is
// bench/quant_quality_bench.cpp (docs/quantization.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "formats/gguf.h"
#include "peers/llama_cpp_peer.h"
#include "slmkit/engine.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeldOutBytes = 39700;  // fixtures README: held out from stories3M's training

ChunkLogits llama_cpp_logits(const fs::path& gguf_path) {
  auto model = std::make_shared<peers::LlamaCppModel>(peers::LlamaCppModel::load(gguf_path));
  peers::LlamaCppContextOptions o;
  o.n_ctx = 256;
  o.n_batch = 256;
  o.n_threads = 1;  // ggml's spinning workers lose badly on a busy CI machine
  auto ctx = std::make_shared<peers::LlamaCppContext>(*model, o);
  auto buffer = std::make_shared<peers::LlamaCppLogits>();
  return [model, ctx, buffer](std::span<const int32_t> chunk) {
    *buffer = ctx->logits(chunk);
    return std::span<const float>(buffer->values);
  };
}

uint64_t tensor_bytes(const fs::path& path) {
  uint64_t n = 0;
  for (const gguf::TensorInfo& t : gguf::read_file(path).tensors) n += t.n_bytes;
  return n;
}

TEST(QuantQuality, ImatrixKldNotAboveLlamaCppAtEqualSize) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available())
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  const fs::path dir = testing::temp_dir("quant_quality");
  const fs::path s3m = testing::fixture("models/stories3M/stories3M.gguf");
  const std::string text = testing::read_text(testing::fixture("text/tinystories_val_subset.txt"));
  Model model = load_model(s3m);
  const Tokenizer tokenizer(model.vocab);

  PerplexityOptions po;
  po.n_ctx = 256;
  po.n_chunks = 8;
  po.bos_id = tokenizer.bos_id();
  po.n_threads = 1;
  const fs::path base = dir / "f32.kl";
  write_kl_base(llama_cpp_logits(s3m), model.config.vocab_size,
                tokenizer.encode(text.substr(text.size() - kHeldOutBytes), true), po, base);

  ImatrixOptions io;
  io.n_ctx = 256;
  io.n_chunks = 8;
  io.bos_id = tokenizer.bos_id();
  io.n_threads = 1;
  const Engine engine(model);
  auto imatrix = std::make_shared<const ImportanceMatrix>(collect_imatrix(
      engine, tokenizer.encode(text.substr(0, text.size() - kHeldOutBytes), true), io));

  for (const char* type : {"Q4_K_M", "Q2_K"}) {
    const fs::path theirs = dir / (std::string(type) + "-llama.gguf");
    const fs::path ours = dir / (std::string(type) + "-slmkit-imatrix.gguf");
    peers::LlamaCppQuantizeOptions lq;
    lq.ftype = quant::llama_ftype_from_name(type).value();
    lq.n_threads = 1;
    peers::LlamaCppPeer::quantize(s3m, theirs, lq);
    QuantizeOptions q;
    q.type = type;
    q.n_threads = 1;
    q.imatrix = imatrix;
    q.imatrix_best_of_both = true;
    save_model(quantize_model(model, q), ours, ModelFormat::gguf);
    // stories3M has 4 layers: no imatrix-only type rule applies (n_layer / 8 == 0).
    EXPECT_EQ(tensor_bytes(ours), tensor_bytes(theirs)) << type;
    const double kld_theirs =
        compute_kl_divergence(llama_cpp_logits(theirs), model.config.vocab_size, base, po).kld_mean;
    const double kld_ours =
        compute_kl_divergence(llama_cpp_logits(ours), model.config.vocab_size, base, po).kld_mean;
    std::printf("%s: mean KLD llama.cpp %.6f, slmkit + imatrix %.6f\n", type, kld_theirs, kld_ours);
    // 2%: over the full held-out text the gains are several percent (docs/quantization.md);
    // on 8 chunks the estimate is noisier, so this fails only when the imatrix stops helping.
    EXPECT_LE(kld_ours, kld_theirs * 1.02) << type;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace slmkit
