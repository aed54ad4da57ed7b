// config.json -> ModelConfig -> the tensor layout it implies: never a crash or a huge allocation.
#include <cstddef>
#include <cstdint>

#include "arch/arch.h"
#include "formats/model_io.h"
#include "slmkit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json =
      nlohmann::ordered_json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  try {
    slmkit::Model model;
    model.config = slmkit::config_from_hf_json(json, "fuzz/config.json");
    slmkit::arch::check_model(model, "fuzz/config.json");  // checks the config, then misses tensors
  } catch (const slmkit::Error&) {
  }
  return 0;
}
