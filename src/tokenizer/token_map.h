// Flat open-addressing hash tables for the encoders' hot lookups: byte strings -> token ids,
// and pairs of ids -> (merge rank, merged id). Built once per tokenizer, read-only after, so
// any number of threads may look up concurrently.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace slmkit::tok {

inline uint64_t hash_bytes(const char* p, size_t n) {
  // 64-bit FNV-1a over 8-byte words then the tail: cheap, and good enough for token strings.
  uint64_t h = 0xcbf29ce484222325ULL ^ (n * 0x9E3779B97F4A7C15ULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0x100000001b3ULL;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return h;
}

// Byte string -> id. Keys are copied into one arena; inserting an existing key overwrites its
// id (the last token with a given text wins, as in llama.cpp's token_to_id map).
class StringIdMap {
 public:
  void reserve(size_t n);
  void insert(std::string_view key, int32_t id);
  int32_t find(std::string_view key) const { return find(key.data(), key.size()); }
  int32_t find(const char* p, size_t n) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(p, n);
    const uint32_t tag = static_cast<uint32_t>(h >> 32) | 1u;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return -1;
      if (s.tag == tag && s.len == n && std::memcmp(arena_.data() + s.offset, p, n) == 0) {
        return s.id;
      }
    }
  }
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t tag = 0;  // 0: empty
    uint32_t len = 0;
    uint64_t offset = 0;
    int32_t id = -1;
  };
  void grow();
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

// (left id, right id) -> merge rank and merged id.
class PairMap {
 public:
  struct Entry {
    int32_t rank = -1;
    int32_t result = -1;
  };
  void reserve(size_t n);
  // Keeps the first rank given for a pair (llama.cpp's bpe_ranks.emplace).
  void insert(int32_t left, int32_t right, Entry entry);
  const Entry* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == kEmpty) return nullptr;
      if (s.key == key) return &s.entry;
    }
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
  }
  struct Slot {
    uint64_t key = kEmpty;
    Entry entry;
  };
  void grow();
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace slmkit::tok
