#include "tokenizer/token_map.h"

#include <algorithm>
#include <bit>

namespace slmkit::tok {

namespace {
size_t capacity_for(size_t n) {
  return std::bit_ceil(std::max<size_t>(16, n * 2));
}
}  // namespace

void StringIdMap::reserve(size_t n) {
  if (capacity_for(n) <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity_for(n), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.tag == 0) continue;
    const uint64_t h = hash_bytes(arena_.data() + s.offset, s.len);
    size_t i = h & mask_;
    while (slots_[i].tag != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void StringIdMap::grow() {
  reserve(slots_.empty() ? 16 : slots_.size());
}

void StringIdMap::insert(std::string_view key, int32_t id) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash_bytes(key.data(), key.size());
  const uint32_t tag = static_cast<uint32_t>(h >> 32) | 1u;
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.tag == 0) break;
    if (s.tag == tag && s.len == key.size() &&
        std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
      s.id = id;
      return;
    }
  }
  Slot& s = slots_[i];
  s.tag = tag;
  s.len = static_cast<uint32_t>(key.size());
  s.offset = arena_.size();
  s.id = id;
  arena_.append(key);
  ++count_;
}

void PairMap::reserve(size_t n) {
  if (capacity_for(n) <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity_for(n), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = mix(s.key) & mask_;
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void PairMap::grow() {
  reserve(slots_.empty() ? 16 : slots_.size());
}

void PairMap::insert(int32_t left, int32_t right, Entry entry) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pack(left, right);
  size_t i = mix(key) & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return;
    if (s.key == kEmpty) break;
  }
  slots_[i].key = key;
  slots_[i].entry = entry;
  ++count_;
}

}  // namespace slmkit::tok
