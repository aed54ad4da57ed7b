// Golden numbers of the evaluation loops on stories260K (perplexity, KL-divergence base and
// comparison, imatrix collection), taken with the code as it was before the loops shared one
// driver (issue 14). The scalar reference kernels in one thread fix the order of every floating
// point operation, so a restructuring of the loops must reproduce them to the last bits; 4 ulps
// (DOUBLE_EQ / FLOAT_EQ) leave room only for a compiler's choice of libm entry points.
#include <cmath>

#include "kernels/kernels.h"
#include "slmkit/imatrix.h"
#include "slmkit/perplexity.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

using testing::fixture;

struct ScalarKernels {
  ScalarKernels() { kernels::set_isa("scalar"); }
  ~ScalarKernels() { kernels::set_isa("auto"); }
};

struct Stories {
  Model model = load_model(fixture("models/gguf-stories260K/stories260K.gguf"));
  Tokenizer tokenizer{model.vocab};
  std::vector<int32_t> tokens = tokenizer.encode(
      testing::read_text(fixture("text/tinystories_val_subset.txt")).substr(0, 12000), true);

  PerplexityOptions options() const {
    PerplexityOptions o;
    o.n_ctx = 64;
    o.n_chunks = 3;
    o.add_bos = true;
    o.bos_id = tokenizer.bos_id();
    o.n_threads = 1;
    return o;
  }
};

// FNV-1a over a file's bytes.
uint64_t file_hash(const std::filesystem::path& p) {
  uint64_t h = 1469598103934665603ull;
  for (std::byte b : testing::read_bytes(p)) h = (h ^ static_cast<uint8_t>(b)) * 1099511628211ull;
  return h;
}

TEST(EvaluationPin, PerplexityKlDivergenceAndImatrixKeepTheirNumbers) {
  SLMKIT_REQUIRE_FIXTURES();
  const ScalarKernels scalar;
  const Stories s;
  const Engine engine{Model(s.model)};

  const PerplexityResult ppl = compute_perplexity(engine, s.tokens, s.options());
  EXPECT_DOUBLE_EQ(ppl.ppl, 3.7587384484186455);
  EXPECT_DOUBLE_EQ(ppl.ppl_error, 0.7734953824934937);
  ASSERT_EQ(ppl.chunk_ppl.size(), 3u);
  EXPECT_DOUBLE_EQ(ppl.chunk_ppl[0], 2.8663664137087013);
  EXPECT_DOUBLE_EQ(ppl.chunk_ppl[1], 3.4124339043512899);
  EXPECT_EQ(ppl.n_scored, 3 * 31);

  const auto base = testing::temp_dir("evaluation_pin") / "base.kl";
  const PerplexityResult written = write_kl_base(engine, s.tokens, s.options(), base);
  EXPECT_DOUBLE_EQ(written.ppl, 3.7587385930287049);
  EXPECT_EQ(file_hash(base), 748757439167632816ull);

  QuantizeOptions q;
  q.type = "Q8_0";
  q.n_threads = 1;
  const Engine quantized(quantize_model(s.model, q));
  const KlDivergenceResult k = compute_kl_divergence(quantized, base, s.options());
  EXPECT_EQ(k.count, 3 * 31);
  EXPECT_DOUBLE_EQ(k.kld_mean, 0.00049250764909021202);
  EXPECT_DOUBLE_EQ(k.kld_max, 0.0026408394332975149);
  EXPECT_DOUBLE_EQ(k.kld_median, 0.00026972679188475013);
  EXPECT_DOUBLE_EQ(k.same_top, 1.0);
  EXPECT_DOUBLE_EQ(k.dp_rms, 0.0064831085594601531);
  EXPECT_DOUBLE_EQ(k.ppl, 3.7621935878880932);
  EXPECT_DOUBLE_EQ(k.log_ppl_correlation, 0.9999075546578059);

  ImatrixOptions io;
  io.n_ctx = 64;
  io.n_chunks = 2;
  io.bos_id = s.tokenizer.bos_id();
  io.n_threads = 1;
  io.process_output = true;
  const ImportanceMatrix im = collect_imatrix(engine, s.tokens, io);
  double total = 0;
  for (const auto& [name, e] : im.entries) {
    for (float v : e.sums) total += v;
  }
  const float one = im.entries.at("blk.3.ffn_down.weight").sums[11];
  EXPECT_EQ(im.entries.size(), 36u);
  EXPECT_DOUBLE_EQ(total, 293979.9045214653);
  EXPECT_FLOAT_EQ(one, 10.4312611f);
}

}  // namespace
}  // namespace slmkit
