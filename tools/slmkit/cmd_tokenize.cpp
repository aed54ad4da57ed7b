// slmkit tokenize -m MODEL (-p TEXT | -f FILE) [--ids] [--no-special] [--parse-special]
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "slmkit/error.h"
#include "slmkit/files.h"
#include "slmkit/tokenizer.h"

namespace slmkit::cli {

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (lenient on overlongs), or 0.
size_t utf8_len_at(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// A piece for the terminal: escapes control characters and bytes that are only part of a
// character (byte-level and byte-fallback pieces often are).
std::string printable(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_len_at(bytes, i);
    if (n > 1) {
      out.append(bytes, i, n);
      i += n;
      continue;
    }
    const auto c = static_cast<unsigned char>(bytes[i++]);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", c);
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

void register_tokenize(CLI::App& app) {
  struct Args {
    std::string model;
    std::string prompt;
    std::string file;
    bool ids = false;
    bool no_special = false;
    bool parse_special = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub =
      app.add_subcommand("tokenize", "Turn text into token ids with a model's tokenizer");
  sub->add_option("-m,--model", args->model,
                  "Model (GGUF, Hugging Face folder, llama2.c checkpoint) or vocabulary file "
                  "(tokenizer.json, tokenizer.model, vocab.json, tokenizer.bin)")
      ->required();
  auto* prompt = sub->add_option("-p,--prompt", args->prompt, "Text to tokenize");
  auto* file = sub->add_option("-f,--file", args->file, "File whose bytes to tokenize");
  prompt->excludes(file);
  sub->add_flag("--ids", args->ids, "Print only the ids, space-separated");
  sub->add_flag("--no-special", args->no_special, "Add no BOS/EOS");
  sub->add_flag("--parse-special", args->parse_special,
                "Read special-token texts such as <|endoftext|> in the input as those tokens");
  add_command(sub, [args, prompt, file] {
    if (prompt->count() == 0 && file->count() == 0) {
      throw Error(ErrorKind::invalid_input, "tokenize: give the text with -p TEXT or -f FILE");
    }
    const Tokenizer tok = Tokenizer::from_path(args->model);
    const std::string text = file->count() ? read_text_file(args->file) : args->prompt;
    const auto ids = tok.encode(text, !args->no_special, args->parse_special);
    std::string out;
    if (args->ids) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ' ';
        out += std::to_string(ids[i]);
      }
      out += '\n';
    } else {
      for (int32_t id : ids) out += fmt::format("{:>8} '{}'\n", id, printable(tok.token_bytes(id)));
      out += fmt::format("{} tokens from {} bytes\n", ids.size(), text.size());
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace slmkit::cli
