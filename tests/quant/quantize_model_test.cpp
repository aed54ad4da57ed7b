// quantize_model on real small models: the report says which tensor got which type and why,
// rows that fit no block stay F16 rather than failing, and --strict refuses them instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

const TensorQuantization& find(const QuantizeReport& r, const std::string& name) {
  for (const TensorQuantization& t : r.tensors) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no report entry for " + name);
}

// stories260K: dim 64, ffn 172. Q4_K (256) fits nothing: 64-wide rows fall back to Q5_0, the
// 172-wide ffn_down rows fit no 32-block either and stay F16; output.weight (64 wide) takes the
// output rule's Q8_0, which is not a fallback.
TEST(QuantizeModel, TinyModelFallbacksAreReported) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  QuantizeOptions options;
  options.type = "Q4_K_M";
  options.n_threads = 1;
  QuantizeReport report;
  const Model q = quantize_model(m, options, &report);
  EXPECT_EQ(report.preset, "Q4_K_M");
  EXPECT_EQ(report.file_type, 15);
  EXPECT_EQ(q.config.file_type, 15);
  EXPECT_EQ(report.tensors.size(), m.tensors().size());

  const TensorQuantization& down = find(report, "blk.0.ffn_down.weight");
  EXPECT_EQ(down.to, "f16");
  EXPECT_TRUE(down.fallback);
  EXPECT_NE(down.reason.find("172"), std::string::npos) << down.reason;
  EXPECT_EQ(q.get("blk.0.ffn_down.weight").dtype(), DType::F16);

  const TensorQuantization& wq = find(report, "blk.0.attn_q.weight");
  EXPECT_EQ(wq.to, "q5_0");
  EXPECT_TRUE(wq.fallback);
  EXPECT_EQ(find(report, "output.weight").to, "q8_0");
  EXPECT_FALSE(find(report, "output.weight").fallback);
  EXPECT_EQ(find(report, "blk.0.attn_norm.weight").to, "f32");
  // 5 layers x (q, k, v, o, gate, up, down) + token_embd all fall back.
  EXPECT_EQ(report.n_fallback, 36);
  EXPECT_LT(report.bytes_out, report.bytes_in);

  const auto json = report.to_json();
  EXPECT_EQ(json["tensors"].size(), report.tensors.size());
  EXPECT_EQ(json["n_fallback"], 36);

  options.strict = true;
  try {
    quantize_model(m, options);
    ADD_FAILURE() << "--strict must refuse a fallback";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("strict"), std::string::npos) << e.what();
  }
}

TEST(QuantizeModel, UnknownTypeIsAnError) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  QuantizeOptions options;
  options.type = "Q7_K";
  EXPECT_THROW(quantize_model(m, options), Error);
}

// A quantized model round-trips through the GGUF writer and reader with its bytes.
TEST(QuantizeModel, WritesAndReadsBack) {
  SLMKIT_REQUIRE_FIXTURES();
  const Model m = load_model(testing::fixture("models/gguf-stories260K/stories260K.gguf"));
  QuantizeOptions options;
  options.type = "Q8_0";
  const Model q = quantize_model(m, options);
  const auto path = testing::temp_dir("quantize_model") / "q8.gguf";
  save_model(q, path, ModelFormat::gguf);
  const Model back = load_model(path);
  const Tensor& a = q.get("blk.1.attn_v.weight");
  const Tensor& b = back.get("blk.1.attn_v.weight");
  EXPECT_EQ(b.dtype(), DType::Q8_0);
  ASSERT_EQ(a.n_bytes(), b.n_bytes());
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));
  EXPECT_EQ(back.source.metadata["general.file_type"], 7);
  EXPECT_EQ(back.source.metadata["general.quantization_version"], 2);
}

}  // namespace
}  // namespace slmkit
