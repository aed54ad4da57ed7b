// libFuzzer target for the C API's slm_model_open_memory: whatever the bytes, it returns SLM_OK
// or a failure status with a message, and never crashes; a blob that opens must also tokenize,
// decode a couple of tokens in a small session and sample, or fail with a status.
//
// Two ways to read an input. Raw: the bytes are the GGUF. Patched (first byte 'P'): every 5 more
// bytes (u32 offset, u8 value) overwrite one byte of a tiny valid llama GGUF made at start-up, so
// the fuzzer reaches decoding with corrupted metadata, vocabularies and weights (seeds cut to the
// fuzzer's 64 KiB input limit never open as whole models).
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "formats/model_io.h"
#include "slmkit/model.h"
#include "slmkit/slmkit.h"

namespace {

using slmkit::DType;
using slmkit::Tensor;

// Deterministic small weights in [-0.5, 0.5).
Tensor weights(const std::string& name, slmkit::Shape shape, uint32_t& state) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  }
  std::vector<std::byte> bytes(v.size() * sizeof(float));
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return Tensor::owned(name, DType::F32, std::move(shape), std::move(bytes));
}

// A one-layer llama (vocab 16, n_embd 8, GQA 2:1) with a SentencePiece vocabulary, as GGUF bytes.
std::vector<uint8_t> tiny_gguf() {
  slmkit::Model m;
  slmkit::ModelConfig& c = m.config;
  c.arch = "llama";
  c.name = "fuzz-tiny";
  c.vocab_size = 16;
  c.n_embd = 8;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.head_dim = 4;
  c.n_ff = 16;
  c.context_length = 32;
  c.rope.style = slmkit::RopeStyle::neox;
  c.rope.n_dims = 4;
  c.layer_attention = {slmkit::AttentionKind::global};
  c.tied_embeddings = true;
  c.bos_id = 1;
  c.eos_id = 2;
  slmkit::Vocab& v = m.vocab;
  v.model = "llama";
  v.tokens = {"<unk>",
              "<s>",
              "</s>",
              "\xE2\x96\x81",
              "\xE2\x96\x81O",
              "n",
              "c",
              "e",
              "\xE2\x96\x81u",
              "p",
              "o",
              "on",
              "ce",
              "up",
              "\xE2\x96\x81on",
              "\xE2\x96\x81upon"};
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    v.scores.push_back(-static_cast<float>(i));
    v.types.push_back(i == 0  ? slmkit::TokenType::unknown
                      : i < 3 ? slmkit::TokenType::control
                              : slmkit::TokenType::normal);
  }
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  uint32_t state = 19;
  m.add(weights("token_embd.weight", {16, 8}, state));
  m.add(weights("blk.0.attn_norm.weight", {8}, state));
  m.add(weights("blk.0.attn_q.weight", {8, 8}, state));
  m.add(weights("blk.0.attn_k.weight", {4, 8}, state));
  m.add(weights("blk.0.attn_v.weight", {4, 8}, state));
  m.add(weights("blk.0.attn_output.weight", {8, 8}, state));
  m.add(weights("blk.0.ffn_norm.weight", {8}, state));
  m.add(weights("blk.0.ffn_gate.weight", {16, 8}, state));
  m.add(weights("blk.0.ffn_up.weight", {16, 8}, state));
  m.add(weights("blk.0.ffn_down.weight", {8, 16}, state));
  m.add(weights("output_norm.weight", {8}, state));
  const auto path = std::filesystem::temp_directory_path() /
                    ("slmkit-capi-fuzz-" + std::to_string(::getpid()) + ".gguf");
  slmkit::write_gguf_model(m, path, /*LLAMA_FTYPE_ALL_F32=*/0);
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  return bytes;
}

const std::vector<uint8_t> kTiny = tiny_gguf();

void exercise(const std::vector<uint64_t>& blob, size_t size) {
  slm_model* model = nullptr;
  const slm_status st = slm_model_open_memory(blob.data(), size, &model);
  if (st != SLM_OK) {
    if (model != nullptr || slm_last_error()[0] == '\0') std::abort();
    return;
  }
  int32_t ids[8];
  int32_t n = slm_tokenize(model, "Once upon", 9, 1, ids, 8);
  if (n <= 0) {
    ids[0] = 0;
    n = 1;
  }
  slm_session_params params = slm_session_default_params();
  params.n_ctx = 8;
  slm_session* session = nullptr;
  if (slm_session_create(model, &params, nullptr, 0, &session) == SLM_OK) {
    if (slm_decode(session, ids, n < 2 ? n : 2, nullptr) == SLM_OK) {
      int32_t id = -1;
      if (slm_sample(session, &id) != SLM_OK) std::abort();  // logits exist after a decode
      if (id < 0 || id >= slm_model_n_vocab(model)) std::abort();
      char piece[64];
      (void)slm_token_to_piece(model, id, piece, sizeof piece);
    }
    slm_session_free(session);
  }
  slm_model_free(model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The blob must be aligned (SLM_MODEL_ALIGNMENT); libFuzzer's buffer is only what malloc gives.
  if (size > 0 && data[0] == 'P' && !kTiny.empty()) {
    std::vector<uint64_t> blob((kTiny.size() + 7) / 8);
    auto* bytes = reinterpret_cast<uint8_t*>(blob.data());
    std::memcpy(bytes, kTiny.data(), kTiny.size());
    for (size_t i = 1; i + 5 <= size; i += 5) {
      uint32_t offset;
      std::memcpy(&offset, data + i, 4);
      bytes[offset % kTiny.size()] = data[i + 4];
    }
    exercise(blob, kTiny.size());
    return 0;
  }
  std::vector<uint64_t> blob((size + 7) / 8 + 1);
  if (size > 0) std::memcpy(blob.data(), data, size);
  exercise(blob, size);
  return 0;
}
