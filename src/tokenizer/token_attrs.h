// Token attributes as llama.cpp derives them at load: the stored token types, plus the control
// flag it forces onto end-of-turn / fill-in-the-middle texts, and the end-of-generation set.
// Both decide which texts the special-token splitter looks for and what decode prints.
#pragma once

#include <cstdint>
#include <vector>

#include "slmkit/vocab.h"

namespace slmkit::tok {

enum TokenAttr : uint16_t {
  kAttrUnknown = 1 << 0,
  kAttrUnused = 1 << 1,
  kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3,
  kAttrUserDefined = 1 << 4,
  kAttrByte = 1 << 5,
};

struct TokenAttrs {
  std::vector<uint16_t> attr;  // per token
  std::vector<uint8_t> eog;    // per token: ends generation
  int32_t eot_id = -1;         // detected from the texts when the vocab names none
};

TokenAttrs derive_token_attrs(const Vocab& vocab);

}  // namespace slmkit::tok
