// tokenizer.json files we write from a vocabulary (GGUF, llama2.c, tokenizer.model, GPT-2
// vocab.json) encode real text in Tokenizers.js (npm @huggingface/tokenizers, what transformers.js
// tokenizes with) to exactly the ids our tokenizer gives, so exported ONNX folders work in the
// browser runtimes unchanged.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "slmkit/tokenizer.h"
#include "support/fixtures.h"
#include "tokenizer/vocab_sources.h"

namespace slmkit {
namespace {

namespace fs = std::filesystem;
using slmkit::testing::fixture;

fs::path peers_dir() {
  const char* env = std::getenv("SLMKIT_PEERS_DIR");
  return env ? fs::path(env) : slmkit::testing::source_dir() / "third_party/peers/node_modules";
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

TEST(TokenizersJs, WrittenTokenizerJsonEncodesAsOurs) {
  SLMKIT_REQUIRE_FIXTURES();
  if (!fs::exists(peers_dir() / "@huggingface/tokenizers")) {
    GTEST_SKIP() << "Tokenizers.js not installed at " << peers_dir() / "@huggingface/tokenizers"
                 << " (scripts/setup.sh installs it)";
  }
  const fs::path dir = slmkit::testing::temp_dir("tokenizers_js");
  // In-domain stories, WikiText markup and numbers, and a line of non-ASCII, emoji and runs of
  // spaces and tabs.
  std::vector<std::string> texts;
  const std::string stories =
      slmkit::testing::read_text(fixture("text/tinystories_val_subset.txt"));
  const std::string wiki = slmkit::testing::read_text(fixture("text/wiki.test.raw"));
  texts.push_back(stories.substr(0, 3000));
  texts.push_back(wiki.substr(wiki.size() / 2, 2000));
  texts.push_back(
      "  H\xC3\xA9llo w\xC3\xB6rld!  \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\xA4\x97\t\ttabs"
      "\n\nnumbers 1234567 3.14 don't I'M   trailing  ");
  std::string files;
  for (size_t i = 0; i < texts.size(); ++i) {
    const fs::path p = dir / ("text" + std::to_string(i) + ".txt");
    std::vector<std::byte> bytes(texts[i].size());
    std::memcpy(bytes.data(), texts[i].data(), bytes.size());
    slmkit::testing::write_bytes(p, bytes);
    files += " " + p.string();
  }
  for (const char* source :
       {"models/llama2c-stories260K/tok512.bin", "models/gguf-stories260K/stories260K.gguf",
        "models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf",
        "tokenizers/gpt2/encoder.json"}) {
    const Tokenizer ours = Tokenizer::from_path(fixture(source));
    const fs::path out = dir / fs::path(source).stem();
    fs::create_directories(out);
    write_tokenizer_json_files(ours.vocab(), out, 512);
    std::string stdout_text;
    const int rc = slmkit::testing::run_command(
        "node " +
            (slmkit::testing::source_dir() / "tests/peers/tokenizers_js_encode.mjs").string() +
            " " + out.string() + files,
        &stdout_text);
    ASSERT_EQ(rc, 0) << stdout_text;
    std::istringstream lines(stdout_text);
    size_t n = 0;
    for (const std::string& text : texts) {
      std::string line;
      std::getline(lines, line);
      const std::vector<int32_t> expected = ours.encode(text);
      EXPECT_EQ(parse_ids(line), expected) << source << ": " << text.substr(0, 40);
      n += expected.size();
    }
    std::printf("%s: Tokenizers.js gives our %zu ids on the written tokenizer.json\n", source, n);
  }
}

}  // namespace
}  // namespace slmkit
