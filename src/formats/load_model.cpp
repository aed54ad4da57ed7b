#include <array>
#include <cstring>

#include "arch/arch.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"
#include "quant/llama_ftype.h"

namespace slmkit {

namespace fs = std::filesystem;

Model model_from_llama2c(const fs::path& path, const LoadOptions& options) {
  Model m = llama2c::read_file(path);
  fs::path tokenizer = options.llama2c_tokenizer;
  if (tokenizer.empty()) {
    const fs::path dir = path.parent_path();
    for (const std::string& name :
         {std::string("tokenizer.bin"), "tok" + std::to_string(m.config.vocab_size) + ".bin"}) {
      if (fs::is_regular_file(dir / name)) tokenizer = dir / name;
    }
  }
  if (!tokenizer.empty()) {
    m.vocab = llama2c::read_tokenizer(tokenizer, m.config.vocab_size);
    m.config.bos_id = m.vocab.bos_id;
    m.config.eos_id = m.vocab.eos_id;
  }
  arch::check_model(m, path.string());
  return m;
}

Model load_model(const fs::path& path, const LoadOptions& options) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return model_from_hf_folder(path);
  const std::string file = path.filename().string();
  if (file == "config.json" || file == "model.safetensors" ||
      file == "model.safetensors.index.json") {
    return model_from_hf_folder(path.parent_path().empty() ? fs::path(".") : path.parent_path());
  }
  auto mapped = MappedFile::open(path);
  if (gguf::has_magic(mapped->bytes())) {
    gguf::File f = gguf::parse(mapped->bytes(), path.string(), mapped);
    return model_from_gguf(f);
  }
  if (llama2c::looks_like_checkpoint(mapped->bytes())) return model_from_llama2c(path, options);
  fail_invalid(
      "{}: not a GGUF file (no 'GGUF' magic), a Hugging Face folder (config.json + "
      "safetensors) or a llama2.c checkpoint (header does not match the file size)",
      path.string());
}

void save_model(const Model& model, const fs::path& path, ModelFormat format) {
  if (format == ModelFormat::gguf) {
    write_gguf_model(model, path, quant::llama_ftype_of(model));
  } else {
    write_hf_folder(model, path);
  }
}

}  // namespace slmkit
