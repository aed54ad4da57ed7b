// The importance weights one tensor is quantized with, as llama-quantize takes them from an
// imatrix: shared by `quantize --imatrix` and `-t auto`'s measurements, so both weigh alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "slmkit/imatrix.h"

namespace slmkit::quant {

// Per-column weights of `name` (rows of n_per_row), empty when the imatrix has none. A size
// other than n_per_row is Error(invalid_input), except for the token embedding, which always
// mismatches when an imatrix has it at all (empty then); so is a non-finite weight.
std::vector<float> imatrix_row_weights(const ImportanceMatrix& imatrix, const std::string& name,
                                       int64_t n_per_row);

}  // namespace slmkit::quant
