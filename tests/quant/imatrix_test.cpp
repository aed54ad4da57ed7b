// Importance matrices: collection through the session's matmul hook, llama.cpp's GGUF and legacy
// .dat files (written, read back, and turned into the weights llama-quantize would derive), and
// quantize_model taking the weighted path only where an entry covers the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "formats/gguf.h"
#include "quant/quant.h"
#include "slmkit/engine.h"
#include "slmkit/error.h"
#include "slmkit/imatrix.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/tokenizer.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

void expect_invalid(const std::function<void()>& f, const std::string& piece) {
  const Error e = testing::expect_error(f);
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << e.what();
  EXPECT_TRUE(testing::contains(e, piece)) << e.what();
}

ImportanceMatrix small_imatrix() {
  ImportanceMatrix im;
  im.datasets = {"a.txt"};
  im.chunk_count = 3;
  im.chunk_size = 64;
  im.entries["blk.0.attn_q.weight"] = {{1, 2, 3, 4}, {192}};
  im.entries["blk.0.ffn_down.weight"] = {{0.5f, 0, 8, 2, 4, 6}, {10, 0}};  // two matrices
  return im;
}

TEST(Imatrix, GgufRoundTripAndLayout) {
  const fs::path dir = testing::temp_dir("imatrix_gguf");
  const ImportanceMatrix im = small_imatrix();
  write_imatrix(im, dir / "im.gguf");
  // llama.cpp's layout: general.type, NAME.in_sum2 [ne0, n_mat], NAME.counts [1, n_mat], F32.
  const gguf::File f = gguf::read_file(dir / "im.gguf");
  EXPECT_EQ(f.find("general.type")->as_string("t"), "imatrix");
  EXPECT_EQ(f.find("imatrix.chunk_size")->as_u64("s"), 64u);
  const gguf::TensorInfo* sums = f.find_tensor("blk.0.ffn_down.weight.in_sum2");
  ASSERT_NE(sums, nullptr);
  EXPECT_EQ(sums->ne, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight.counts")->ne, (std::vector<uint64_t>{1, 2}));

  const ImportanceMatrix back = read_imatrix(dir / "im.gguf");
  EXPECT_FALSE(back.legacy);
  EXPECT_EQ(back.datasets, im.datasets);
  EXPECT_EQ(back.chunk_count, 3);
  EXPECT_EQ(back.entries.at("blk.0.attn_q.weight").sums, im.entries.at("blk.0.attn_q.weight").sums);
  // sums / counts; a matrix that saw no token gets weight 1 (llama-quantize's rule).
  EXPECT_EQ(back.weights("blk.0.attn_q.weight"),
            (std::vector<float>{1 / 192.f, 2 / 192.f, 3 / 192.f, 4 / 192.f}));
  EXPECT_EQ(back.weights("blk.0.ffn_down.weight"),
            (std::vector<float>{0.05f, 0.0f, 0.8f, 1, 1, 1}));
  EXPECT_TRUE(back.weights("output.weight").empty());
}

TEST(Imatrix, LegacyDatRoundTrip) {
  const fs::path dir = testing::temp_dir("imatrix_dat");
  ImportanceMatrix im = small_imatrix();
  im.entries.erase("blk.0.ffn_down.weight");
  write_imatrix_legacy(im, dir / "im.dat");
  // n_entries, then name, ncall = ceil(192 / 64) = 3, nval, values = mean * ncall, then the
  // chunk count and the dataset name.
  const std::vector<std::byte> bytes = testing::read_bytes(dir / "im.dat");
  ASSERT_EQ(bytes.size(), 4u + 4 + 19 + 4 + 4 + 16 + 4 + 4 + 5);
  const ImportanceMatrix back = read_imatrix(dir / "im.dat");
  EXPECT_TRUE(back.legacy);
  EXPECT_EQ(back.entries.at("blk.0.attn_q.weight").counts, (std::vector<int64_t>{3}));
  EXPECT_EQ(back.chunk_count, 3);
  EXPECT_EQ(back.datasets, (std::vector<std::string>{"a.txt"}));
  const std::vector<float> w = back.weights("blk.0.attn_q.weight");
  ASSERT_EQ(w.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(w[i], static_cast<float>(i + 1) / 192.f);
}

TEST(Imatrix, BadFilesNameWhatIsWrong) {
  const fs::path dir = testing::temp_dir("imatrix_bad");
  testing::write_bytes(dir / "short.dat",
                       {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{5}});
  expect_invalid([&] { read_imatrix(dir / "short.dat"); }, "entry name length");
  gguf::Writer w;
  w.set_string("general.type", "imatrix");
  const float v[2] = {1, 2};
  w.add_tensor("blk.0.attn_q.weight.in_sum2", DType::F32, {1, 2},
               std::as_bytes(std::span<const float>(v)));
  w.write(dir / "no_counts.gguf");
  expect_invalid([&] { read_imatrix(dir / "no_counts.gguf"); }, "blk.0.attn_q.weight");
}

TEST(Imatrix, CollectsEveryBlockMatrixOverEveryToken) {
  SLMKIT_REQUIRE_FIXTURES();
  Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  const Tokenizer tokenizer(model.vocab);
  const Engine engine(std::move(model));
  const std::string text =
      testing::read_text(testing::fixture("text/tinystories_val_subset.txt")).substr(0, 20000);
  ImatrixOptions o;
  o.n_ctx = 64;
  o.n_chunks = 3;
  o.bos_id = tokenizer.bos_id();
  const ImportanceMatrix im = collect_imatrix(engine, tokenizer.encode(text, true), o);
  EXPECT_EQ(im.chunk_count, 3);
  // 5 layers x (q, k, v, output, gate, up, down); output.weight only with process_output.
  ASSERT_EQ(im.entries.size(), 35u);
  for (const auto& [name, e] : im.entries) {
    EXPECT_EQ(e.counts, (std::vector<int64_t>{3 * 64})) << name;
    const size_t cols = name.find("ffn_down") != std::string::npos ? 172 : 64;
    ASSERT_EQ(e.sums.size(), cols) << name;
    for (float s : e.sums) EXPECT_TRUE(std::isfinite(s) && s >= 0) << name;
  }
  // The same input reaches q, k and v: their statistics are the same numbers.
  EXPECT_EQ(im.entries.at("blk.2.attn_q.weight").sums, im.entries.at("blk.2.attn_v.weight").sums);
  // Chunks are independent (each from an empty context), so 3 chunks sum 1 + 2 of them.
  o.n_chunks = 1;
  const ImportanceMatrix one = collect_imatrix(engine, tokenizer.encode(text, true), o);
  const float s1 = one.entries.at("blk.4.ffn_down.weight").sums[7];
  const float s3 = im.entries.at("blk.4.ffn_down.weight").sums[7];
  EXPECT_GT(s1, 0.0f);
  EXPECT_LT(s1, s3);
}

TEST(Imatrix, QuantizeUsesWeightsOnlyWhereCovered) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model model = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  auto im = std::make_shared<ImportanceMatrix>();
  std::vector<float> w(64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = i < 8 ? 100.0f : 0.01f;  // a few columns matter
  im->entries["blk.0.attn_q.weight"] = {w, {1}};
  im->entries["blk.1.attn_k.weight"] = {std::vector<float>(5, 1.0f), {1}};  // wrong width
  QuantizeOptions q;
  q.type = "Q4_0";
  q.pure = true;
  q.imatrix = im;
  expect_invalid([&] { quantize_model(model, q); }, "blk.1.attn_k.weight");
  im->entries.erase("blk.1.attn_k.weight");
  QuantizeReport report;
  const Model out = quantize_model(model, q, &report);
  EXPECT_EQ(report.n_imatrix, 1);
  QuantizeOptions plain = q;
  plain.imatrix = nullptr;
  const Model ref = quantize_model(model, plain);
  // Only the covered tensor changes, and its weighted columns are reproduced more exactly.
  for (const Tensor& t : out.tensors()) {
    const bool same = std::memcmp(t.data(), ref.find(t.name())->data(), t.n_bytes()) == 0;
    EXPECT_EQ(same, t.name() != "blk.0.attn_q.weight") << t.name();
  }
  const std::vector<float> x = slmkit::dequantize(*model.find("blk.0.attn_q.weight"));
  const std::vector<float> a = slmkit::dequantize(*out.find("blk.0.attn_q.weight"));
  const std::vector<float> b = slmkit::dequantize(*ref.find("blk.0.attn_q.weight"));
  double err_weighted = 0, err_plain = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double wi = w[i % 64];
    err_weighted += wi * (a[i] - x[i]) * (a[i] - x[i]);
    err_plain += wi * (b[i] - x[i]) * (b[i] - x[i]);
  }
  EXPECT_LT(err_weighted, err_plain * 0.8);
}

}  // namespace
}  // namespace slmkit
