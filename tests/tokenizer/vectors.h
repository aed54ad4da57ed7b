// Header-only (tests/ compiles *_test.cpp files only). llama.cpp's tokenizer test vectors
// (models/ggml-vocab-NAME.gguf with .inp / .out, the ids Hugging Face tokenizers produce) and
// helpers to report a mismatch in full.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slmkit/error.h"
#include "slmkit/tokenizer.h"
#include "support/fixtures.h"

namespace slmkit::testing {

struct VectorCase {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::filesystem::path llama_cpp_models_dir() {
  return slmkit::testing::source_dir() / "third_party/peers/llama.cpp/models";
}

inline bool have_llama_cpp_models() {
  return std::filesystem::exists(llama_cpp_models_dir() / "ggml-vocab-gpt-2.gguf");
}

inline std::filesystem::path vocab_gguf(const std::string& name) {
  return llama_cpp_models_dir() / ("ggml-vocab-" + name + ".gguf");
}

inline std::vector<VectorCase> read_vectors(const std::string& name) {
  const auto base = vocab_gguf(name).string();
  const std::string inp = read_text(base + ".inp");
  const std::string out = read_text(base + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<VectorCase> cases;
  size_t line_start = 0;
  for (const std::string& text : texts) {
    const size_t line_end = std::min(out.find('\n', line_start), out.size());
    const std::string line = out.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    VectorCase c;
    c.text = text;
    size_t p = 0;
    while (p < line.size()) {
      while (p < line.size() && line[p] == ' ') ++p;
      if (p >= line.size()) break;
      size_t q = p;
      while (q < line.size() && line[q] != ' ') ++q;
      c.ids.push_back(std::stoi(line.substr(p, q - p)));
      p = q;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

inline std::string escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

inline std::string describe(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ", ";
    const bool valid = ids[i] >= 0 && static_cast<size_t>(ids[i]) < tok.size();
    out += fmt::format("{} '{}'", ids[i], valid ? escape(tok.token_bytes(ids[i])) : "?");
  }
  return out + "]";
}

inline size_t count_mismatches(const Tokenizer& tok, const std::vector<VectorCase>& cases,
                               std::string* report) {
  size_t failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, false, false);
    if (got == cases[i].ids) continue;
    if (failures == 0 && report) {
      *report =
          fmt::format("case {} of {}: text '{}'\n  expected {}\n  got      {}", i, cases.size(),
                      escape(cases[i].text), describe(tok, cases[i].ids), describe(tok, got));
    }
    ++failures;
  }
  return failures;
}

}  // namespace slmkit::testing

#define SLMKIT_REQUIRE_LLAMA_CPP_MODELS()                                                      \
  do {                                                                                         \
    if (!::slmkit::testing::have_llama_cpp_models())                                           \
      GTEST_SKIP() << "llama.cpp's vocab vectors not found at "                                \
                   << ::slmkit::testing::llama_cpp_models_dir()                                \
                   << " (install the peers: scripts/setup.sh puts them in third_party/peers)"; \
  } while (0)
