// dequantize(tensor) (slmkit/quantize.h) on its own: the engine reads quantized norms and
// embeddings through it, so it belongs to the runtime core, apart from the quantizer.
#include "core/fail.h"
#include "quant/quant.h"
#include "quant/type_traits.h"
#include "slmkit/quantize.h"

namespace slmkit {

std::vector<float> dequantize(const Tensor& tensor) {
  if (traits(tensor.dtype()).block_size == 1) return tensor.to_f32();
  std::vector<float> out(static_cast<size_t>(tensor.n_elements()));
  if (!quant::can_dequantize(tensor.dtype())) {
    fail_unsupported("tensor '{}': no dequantizer for type {}", tensor.name(),
                     dtype_name(tensor.dtype()));
  }
  quant::dequantize(tensor.dtype(), tensor.bytes(), out);
  return out;
}

}  // namespace slmkit
