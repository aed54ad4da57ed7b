// `slmkit bench`'s peer rows: llama.cpp on the same GGUF, measured through the peer adapter.
#include <gtest/gtest.h>

#include "peers/llama_cpp_peer.h"
#include "slmkit/bench.h"
#include "support/fixtures.h"

namespace slmkit {
namespace {

TEST(BenchPeers, LlamaCppRowsBesideOurs) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!peers::LlamaCppPeer::available()) {
    GTEST_SKIP() << "llama.cpp peer not available: " << peers::LlamaCppPeer::unavailable_reason();
  }
  const auto model = testing::fixture("models/gguf-stories260K/stories260K.gguf");
  BenchOptions o;
  o.n_prompt = 8;
  o.n_gen = 4;
  o.repetitions = 2;
  o.n_threads = 1;
  const auto theirs = bench_llama_cpp(model, o);
  const auto ours = bench_slmkit(model, o);
  ASSERT_EQ(theirs.size(), 2u);
  ASSERT_EQ(ours.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(theirs[i].test(), ours[i].test());
    EXPECT_EQ(theirs[i].backend, BenchBackend::llama_cpp);
    EXPECT_EQ(theirs[i].samples_ns.size(), 2u);
    EXPECT_GT(theirs[i].avg_ts, 0.0);
    EXPECT_EQ(theirs[i].n_threads, 1);
    // Both count the bytes of the same 48 F32 tensors.
    EXPECT_EQ(theirs[i].model_size, ours[i].model_size);
  }
  EXPECT_EQ(theirs[0].model_type, "llama ?B (guessed) all F32");
  o.n_prompt = 0;
  EXPECT_EQ(bench_llama_cpp(model, o).size(), 1u);
}

}  // namespace
}  // namespace slmkit
