// quantize_model_to_file writes tensor by tensor; its file must be, byte for byte, what
// save_model(quantize_model(...)) writes (that path is checked against llama.cpp's files), and a
// cancelled or failing run must leave no file behind.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "slmkit/error.h"
#include "slmkit/model.h"
#include "slmkit/quantize.h"
#include "slmkit/synth.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;

std::vector<char> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path temp_path(const std::string& name) {
  return fs::path(::testing::TempDir()) /
         ("slmkit_stream_" + std::to_string(::getpid()) + "_" + name + ".gguf");
}

Model synth(const std::string& arch, DType dtype) {
  SynthOptions so;
  so.arch = arch;
  so.dtype = dtype;
  so.seed = 7;
  return synthesize_model(so);  // no tokenizer folders: a byte-level vocabulary
}

void expect_same_file(const Model& m, const QuantizeOptions& o, const std::string& what) {
  const fs::path whole = temp_path(what + "_whole"), streamed = temp_path(what + "_streamed");
  QuantizeReport r_whole, r_streamed;
  save_model(quantize_model(m, o, &r_whole), whole, ModelFormat::gguf);
  quantize_model_to_file(m, o, streamed, &r_streamed);
  const std::vector<char> a = file_bytes(whole), b = file_bytes(streamed);
  EXPECT_GT(a.size(), 0u) << what;
  EXPECT_TRUE(a == b) << what << ": " << a.size() << " vs " << b.size() << " bytes";
  EXPECT_EQ(r_whole.file_type, r_streamed.file_type) << what;
  EXPECT_EQ(r_whole.preset, r_streamed.preset) << what;
  EXPECT_EQ(r_whole.bytes_out, r_streamed.bytes_out) << what;
  ASSERT_EQ(r_whole.tensors.size(), r_streamed.tensors.size()) << what;
  for (size_t i = 0; i < r_whole.tensors.size(); ++i) {
    EXPECT_EQ(r_whole.tensors[i].to, r_streamed.tensors[i].to) << r_whole.tensors[i].name;
    EXPECT_EQ(r_whole.tensors[i].bytes_out, r_streamed.tensors[i].bytes_out)
        << r_whole.tensors[i].name;
  }
  fs::remove(whole);
  fs::remove(streamed);
}

TEST(QuantizeStream, SameBytesAsQuantizeThenSave) {
  const Model llama = synth("llama", DType::F16);
  for (const char* type : {"Q8_0", "Q4_K_M"}) {
    QuantizeOptions o;
    o.type = type;
    o.n_threads = 2;
    expect_same_file(llama, o, std::string("llama_") + type);
  }
  // GPT-2 (no RoPE, biases) from F32, and a per-tensor mix, which names the file by its
  // dominant type.
  QuantizeOptions o;
  o.type = "Q5_0";
  expect_same_file(synth("gpt2", DType::F32), o, "gpt2_q5_0");
  o.type = "Q8_0";
  o.tensor_types = {{"blk.0.ffn_up.weight", "q4_0"}, {"output.weight", "q5_1"}};
  expect_same_file(llama, o, "llama_mix");
}

TEST(QuantizeStream, CancelledRunLeavesNoFile) {
  const Model m = synth("llama", DType::F32);
  const fs::path out = temp_path("cancel");
  QuantizeOptions o;
  o.type = "Q4_0";
  int calls = 0;
  // Cancelled while the writer is part way through the tensors: the header is written by then.
  o.on_progress = [&](int64_t done, int64_t, std::string_view) {
    if (++calls == 3 && done < 10) o.cancel.cancel();
  };
  EXPECT_THROW(quantize_model_to_file(m, o, out), Cancelled);
  EXPECT_GE(calls, 3);
  EXPECT_FALSE(fs::exists(out));
  for (const fs::directory_entry& e : fs::directory_iterator(out.parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(out.filename().string()), std::string::npos)
        << "left behind: " << e.path();
  }
}

TEST(QuantizeStream, PlanErrorsComeBeforeTheFile) {
  const Model m = synth("llama", DType::F32);
  const fs::path out = temp_path("bad");
  QuantizeOptions o;
  o.type = "Q8_0";
  o.tensor_types = {{"no.such.tensor", "q4_0"}};
  EXPECT_THROW(quantize_model_to_file(m, o, out), Error);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace slmkit
