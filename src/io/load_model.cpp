// load_model / save_model: the format a path holds (io/file_kind.h), then that format's reader or
// writer (formats/model_io.h).
#include "core/fail.h"
#include "formats/gguf.h"
#include "formats/model_io.h"
#include "io/file_kind.h"
#include "quant/llama_ftype.h"

namespace slmkit {

namespace fs = std::filesystem;

Model load_model(const fs::path& path, const LoadOptions& options) {
  switch (io::sniff(path)) {
    case io::FileKind::folder:
      return model_from_hf_folder(path);
    case io::FileKind::hf_model_file:
      return model_from_hf_folder(path.parent_path().empty() ? fs::path(".") : path.parent_path());
    case io::FileKind::llama2c_checkpoint:
      return model_from_llama2c(path, options);
    default:
      break;
  }
  auto mapped = MappedFile::open(path);
  if (gguf::has_magic(mapped->bytes())) {
    return model_from_gguf(gguf::parse(mapped->bytes(), path.string(), mapped));
  }
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
