// tokenizer.ggml.* metadata <-> Vocab, with the keys and types llama.cpp reads and writes.
#pragma once

#include "formats/gguf.h"
#include "slmkit/vocab.h"

namespace slmkit::gguf {

Vocab read_vocab(const File& file);  // empty Vocab when the file has no tokenizer.ggml.model
void write_vocab(const Vocab& vocab, Writer& writer);

}  // namespace slmkit::gguf
