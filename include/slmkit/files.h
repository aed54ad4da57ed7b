// Reading the text files that the library and the commands take (evaluation text, prompts,
// tokenizer and config JSON).
#pragma once

#include <filesystem>
#include <string>

namespace slmkit {

// The whole file as bytes; Error(io) naming the file when it cannot be opened or read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace slmkit
