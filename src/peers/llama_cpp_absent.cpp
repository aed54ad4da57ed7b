// Stands in for llama_cpp_peer.cpp in a build that did not find llama.cpp's headers: the API
// links, LlamaCppPeer::available() is false, and every call says why.
#if !SLMKIT_HAVE_LLAMA_CPP

#include "core/fail.h"
#include "peers/llama_cpp_peer.h"

namespace slmkit::peers {
namespace {

[[noreturn]] void unavailable() {
  fail_unsupported("llama.cpp peer not available: {}", LlamaCppPeer::unavailable_reason());
}

}  // namespace

// Never constructed: every way to get a model or context throws first.
struct LlamaCppModel::Impl {};
struct LlamaCppContext::Impl {};

void LlamaCppPeer::quantize(const std::filesystem::path&, const std::filesystem::path&,
                            const LlamaCppQuantizeOptions&) {
  unavailable();
}

LlamaCppModel LlamaCppModel::load(const std::filesystem::path&, const LlamaCppModelOptions&) {
  unavailable();
}
LlamaCppModel LlamaCppModel::load_vocab(const std::filesystem::path&) {
  unavailable();
}
const std::filesystem::path& LlamaCppModel::path() const {
  unavailable();
}
bool LlamaCppModel::vocab_only() const {
  unavailable();
}
LlamaCppModelInfo LlamaCppModel::info() const {
  unavailable();
}
std::optional<std::string> LlamaCppModel::metadata(const std::string&) const {
  unavailable();
}
int32_t LlamaCppModel::n_vocab() const {
  unavailable();
}
bool LlamaCppModel::is_end_of_generation(LlamaToken) const {
  unavailable();
}
std::vector<LlamaToken> LlamaCppModel::tokenize(std::string_view, bool, bool) const {
  unavailable();
}
std::string LlamaCppModel::token_to_piece(LlamaToken, bool) const {
  unavailable();
}
std::string LlamaCppModel::detokenize(std::span<const LlamaToken>, bool, bool) const {
  unavailable();
}

LlamaCppContext::LlamaCppContext(const LlamaCppModel&, const LlamaCppContextOptions&) {
  unavailable();
}
LlamaCppContext::~LlamaCppContext() = default;
LlamaCppContext::LlamaCppContext(LlamaCppContext&&) noexcept = default;
LlamaCppContext& LlamaCppContext::operator=(LlamaCppContext&&) noexcept = default;
uint32_t LlamaCppContext::n_ctx() const {
  unavailable();
}
uint32_t LlamaCppContext::n_batch() const {
  unavailable();
}
int LlamaCppContext::n_threads() const {
  unavailable();
}
void LlamaCppContext::clear() {
  unavailable();
}
LlamaCppLogits LlamaCppContext::logits(std::span<const LlamaToken>) {
  unavailable();
}
std::vector<LlamaToken> LlamaCppContext::generate_greedy(std::span<const LlamaToken>, int32_t,
                                                         bool) {
  unavailable();
}
LlamaCppTiming LlamaCppContext::bench_prompt(int32_t, const LlamaCppBenchOptions&) {
  unavailable();
}
LlamaCppTiming LlamaCppContext::bench_generate(int32_t, const LlamaCppBenchOptions&) {
  unavailable();
}

}  // namespace slmkit::peers

#endif  // !SLMKIT_HAVE_LLAMA_CPP
