// GGUF parser on broken and hostile input: truncations at every structural boundary, random byte
// flips, and hand-built headers with absurd counts. Every failure must be a slmkit::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

#include "formats/gguf.h"
#include "formats/gguf_vocab.h"
#include "slmkit/error.h"
#include "support/fixtures.h"

namespace slmkit::gguf {
namespace {

using testing::fixture;

// --- an independent walk over the metadata, to know where each record ends ----------------------

class Walker {
 public:
  explicit Walker(const std::vector<std::byte>& b) : b_(b) {}

  // Offsets just after: magic, version, n_tensors, n_kv, each kv, each tensor info; then the data
  // section start and each tensor's data [start, end).
  struct Layout {
    std::vector<size_t> boundaries;
    size_t infos_end = 0;
    size_t data_offset = 0;
    std::vector<std::pair<size_t, size_t>> tensor_data;
  };

  Layout walk() {
    Layout l;
    pos_ = 4;
    l.boundaries.push_back(pos_);
    pos_ += 4;
    l.boundaries.push_back(pos_);
    const uint64_t n_tensors = get<uint64_t>();
    l.boundaries.push_back(pos_);
    const uint64_t n_kv = get<uint64_t>();
    l.boundaries.push_back(pos_);
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = string();
      const uint32_t type = get<uint32_t>();
      if (key == "general.alignment")
        alignment = get<uint32_t>();
      else
        skip_value(type);
      l.boundaries.push_back(pos_);
    }
    std::vector<std::pair<uint64_t, uint64_t>> offsets_and_sizes;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      string();
      const uint32_t n_dims = get<uint32_t>();
      uint64_t n = 1;
      for (uint32_t j = 0; j < n_dims; ++j) n *= get<uint64_t>();
      const uint32_t type = get<uint32_t>();
      EXPECT_TRUE(type == 0 || type == 1) << "walker knows F32 and F16 only";
      offsets_and_sizes.emplace_back(get<uint64_t>(), n * (type == 0 ? 4 : 2));
      l.boundaries.push_back(pos_);
    }
    l.infos_end = pos_;
    l.data_offset = (pos_ + alignment - 1) / alignment * alignment;
    for (auto [offset, size] : offsets_and_sizes) {
      l.tensor_data.emplace_back(l.data_offset + offset, l.data_offset + offset + size);
    }
    return l;
  }

 private:
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string() {
    const auto n = get<uint64_t>();
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip_value(uint32_t type) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      string();
    } else if (type == 9) {
      const uint32_t element = get<uint32_t>();
      const uint64_t n = get<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) skip_value(element);
    } else {
      pos_ += sizes[type];
    }
  }

  const std::vector<std::byte>& b_;
  size_t pos_ = 0;
};

Error parse_error(std::span<const std::byte> bytes, const std::string& path) {
  try {
    File f = parse(bytes, path, nullptr);
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::internal, "parsed without error");
}

void expect_truncations_fail(const std::string& relative, size_t n_samples) {
  const auto path = fixture(relative);
  const std::vector<std::byte> bytes = testing::read_bytes(path);
  const Walker::Layout layout = Walker(bytes).walk();
  ASSERT_EQ(layout.data_offset, read_file(path).data_offset);  // the walker agrees with parse()

  std::vector<size_t> cuts = layout.boundaries;
  cuts.push_back(0);
  cuts.push_back(2);
  cuts.push_back(layout.data_offset);
  for (auto [start, end] : layout.tensor_data) {
    cuts.push_back(start + (end - start) / 2);
    cuts.push_back(end - 1);
  }
  std::mt19937_64 rng(20240601);
  for (size_t i = 0; i < n_samples; ++i) {
    cuts.push_back(std::uniform_int_distribution<size_t>(0, layout.data_offset + 64)(rng));
    cuts.push_back(std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng));
  }
  const std::string name = path.filename().string();
  for (size_t cut : cuts) {
    const Error e = parse_error(std::span(bytes).first(cut), path.string());
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << "cut at " << cut << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  ::testing::Test::RecordProperty("truncations", static_cast<int>(cuts.size()));
  std::cout << relative << ": " << cuts.size() << " truncations (" << layout.boundaries.size()
            << " record boundaries), all rejected\n";
}

TEST(GgufBadInput, TruncatedStories260K) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_truncations_fail("models/gguf-stories260K/stories260K.gguf", 300);
}

TEST(GgufBadInput, TruncatedLlamaTinyRandom) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_truncations_fail("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf", 100);
}

TEST(GgufBadInput, TruncatedStories3M) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_truncations_fail("models/stories3M/stories3M.gguf", 100);
}

TEST(GgufBadInput, TruncationMessageNamesFieldAndOffset) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto path = fixture("models/gguf-stories260K/stories260K.gguf");
  const std::vector<std::byte> bytes = testing::read_bytes(path);
  const std::string p = path.string();
  EXPECT_EQ(std::string(parse_error(std::span(bytes).first(6), p).what()),
            p + ": truncated at offset 4 reading version: need 4 bytes, 2 left");
  EXPECT_EQ(std::string(parse_error(std::span(bytes).first(20), p).what()),
            p + ": truncated at offset 16 reading key-value count: need 8 bytes, 4 left");
  const std::string inside_data = parse_error(std::span(bytes).first(20000), p).what();
  EXPECT_NE(inside_data.find("tensor 'token_embd.weight'"), std::string::npos) << inside_data;
  EXPECT_NE(inside_data.find("the file has 20000 bytes"), std::string::npos) << inside_data;
}

// Any parse that succeeds must also survive everything a consumer does next, and writing it back
// must give the same bytes except where the input had non-zero padding or trailing data.
void check_parsed(const std::vector<std::byte>& input, const File& f) {
  try {
    (void)read_vocab(f);
  } catch (const Error&) {
  }
  uint64_t sum = 0;
  for (const TensorInfo& info : f.tensors) {
    const Tensor t = f.tensor(info);
    for (std::byte b : t.bytes()) sum += std::to_integer<uint8_t>(b);
  }
  (void)sum;
  const std::vector<std::byte> out = writer_from(f).to_bytes();
  // Bytes after the last tensor are dropped; its final padding is added if it was missing.
  ASSERT_LT(out.size(), input.size() + f.alignment);
  // The padding before the data starts after the tensor infos, at most alignment - 1 bytes back.
  const uint64_t first_padding =
      f.tensors.empty() ? out.size() : f.data_offset - std::min(f.data_offset, f.alignment - 1);
  for (size_t i = 0; i < std::min(out.size(), input.size()); ++i) {
    if (out[i] != input[i]) {
      ASSERT_EQ(out[i], std::byte{0}) << "rewrite differs at " << i << " outside padding";
      ASSERT_GE(i, first_padding) << "rewrite differs at " << i << " inside the metadata";
    }
  }
  const File again = parse(out, "rewrite.gguf", nullptr);
  ASSERT_EQ(writer_from(again).to_bytes(), out);
}

TEST(GgufBadInput, RandomByteFlipsNeverCrash) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto path = fixture("models/gguf-stories260K/stories260K.gguf");
  std::vector<std::byte> bytes = testing::read_bytes(path);
  const size_t metadata_end = read_file(path).data_offset;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> in_meta(0, metadata_end + 63);
  std::uniform_int_distribution<size_t> anywhere(0, bytes.size() - 1);
  std::uniform_int_distribution<int> n_flips(1, 4);
  std::uniform_int_distribution<int> bit(0, 7);
  int parsed = 0;
  int rejected = 0;
  const int kTrials = 3000;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<std::pair<size_t, std::byte>> saved;
    const int n = n_flips(rng);
    for (int k = 0; k < n; ++k) {
      const size_t at = trial % 10 == 0 ? anywhere(rng) : in_meta(rng);
      saved.emplace_back(at, bytes[at]);
      // Mostly single-bit flips (near-valid values); sometimes a random byte.
      if (trial % 3 == 0) {
        bytes[at] = static_cast<std::byte>(rng() & 0xff);
      } else {
        bytes[at] ^= static_cast<std::byte>(1 << bit(rng));
      }
    }
    try {
      const File f = parse(bytes, path.string(), nullptr);
      ++parsed;
      check_parsed(bytes, f);
    } catch (const Error& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find("stories260K.gguf"), std::string::npos) << e.what();
    }
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) bytes[it->first] = it->second;
    if (HasFatalFailure()) break;
  }
  std::cout << kTrials << " mutated files: " << parsed << " parsed, " << rejected << " rejected\n";
  EXPECT_EQ(parsed + rejected, kTrials);
  EXPECT_GT(parsed, 0);    // flips in strings and values keep the file valid
  EXPECT_GT(rejected, 0);  // flips in lengths and counts do not
}

// --- hand-built hostile headers
// -------------------------------------------------------------------

class Builder {
 public:
  Builder& u8(uint8_t v) { return raw(&v, 1); }
  Builder& u32(uint32_t v) { return raw(&v, 4); }
  Builder& u64(uint64_t v) { return raw(&v, 8); }
  Builder& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Builder& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    raw("GGUF", 4);
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  Builder& zeros(size_t n) {
    b_.resize(b_.size() + n, std::byte{0});
    return *this;
  }
  Builder& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t off) {
    str(name);
    u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    u32(type);
    return u64(off);
  }
  const std::vector<std::byte>& bytes() const { return b_; }

 private:
  Builder& raw(const void* p, size_t n) {
    const auto* c = static_cast<const std::byte*>(p);
    b_.insert(b_.end(), c, c + n);
    return *this;
  }
  std::vector<std::byte> b_;
};

void expect_rejected(const Builder& b, ErrorKind kind, const std::string& needle) {
  const Error e = parse_error(b.bytes(), "hostile.gguf");
  EXPECT_EQ(e.kind(), kind) << e.what();
  const std::string what = e.what();
  EXPECT_EQ(what.rfind("hostile.gguf: ", 0), 0u) << what;
  EXPECT_NE(what.find(needle), std::string::npos) << what;
}

TEST(GgufBadInput, HostileCountsFailBeforeAllocating) {
  const auto kInvalid = ErrorKind::invalid_input;
  expect_rejected(Builder().header(0, 1ull << 62).zeros(64), kInvalid,
                  "key-value count 4611686018427387904 at offset 16 cannot fit");
  expect_rejected(Builder().header(1ull << 62, 0).zeros(64), kInvalid,
                  "tensor count 4611686018427387904 at offset 8 cannot fit");
  expect_rejected(Builder().header(UINT64_MAX, UINT64_MAX), kInvalid, "cannot fit");
  // A key whose length is 2^63.
  expect_rejected(Builder().header(0, 1).u64(1ull << 63).zeros(16), kInvalid,
                  "reading key: need 9223372036854775808 bytes");
  // A string value whose length is 2^63.
  expect_rejected(Builder().header(0, 1).str("k").u32(8).u64(1ull << 63).zeros(8), kInvalid,
                  "need 9223372036854775808 bytes");
  // Arrays claiming far more elements than bytes remain, for a fixed-size, string and array type.
  expect_rejected(Builder().header(0, 1).str("k").u32(9).u32(4).u64(1ull << 61).zeros(64), kInvalid,
                  "array of 2305843009213693952 u32 values needs at least 4 bytes");
  expect_rejected(Builder().header(0, 1).str("k").u32(9).u32(8).u64(UINT64_MAX).zeros(64), kInvalid,
                  "needs at least 8 bytes per element");
  expect_rejected(Builder().header(0, 1).str("k").u32(9).u32(9).u64(1000).zeros(64), kInvalid,
                  "needs at least 12 bytes per element");
}

TEST(GgufBadInput, InvalidMetadataIsRejected) {
  const auto kInvalid = ErrorKind::invalid_input;
  Builder deep;
  deep.header(0, 1).str("deep").u32(9);
  for (uint32_t d = 0; d < kMaxArrayDepth; ++d) deep.u32(9).u64(1);
  deep.u32(0).u64(0);
  expect_rejected(deep, kInvalid, "arrays nested 9 deep; at most 8");
  expect_rejected(Builder().header(0, 1).str("k").u32(13).u32(0), kInvalid,
                  "value type 13 is not a GGUF value type");
  expect_rejected(Builder().header(0, 1).str("k").u32(9).u32(77).u64(0).zeros(8), kInvalid,
                  "array element type 77 is not a GGUF value type");
  expect_rejected(Builder().header(0, 1).str("flag").u32(7).u8(2).zeros(16), kInvalid,
                  "bool value is 2, expected 0 or 1");
  expect_rejected(Builder().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2), kInvalid,
                  "duplicate key 'k'");
  expect_rejected(Builder().header(0, 1).str("").u32(4).u32(1).zeros(4), kInvalid, "empty key");
  expect_rejected(Builder().header(0, 1).str("general.alignment").u32(4).u32(3), kInvalid,
                  "'general.alignment' at offset 24: 3 is not a power of two");
  expect_rejected(Builder().header(0, 1).str("general.alignment").u32(4).u32(0), kInvalid,
                  "0 is not a power of two");
  expect_rejected(Builder().header(0, 1).str("general.alignment").u32(10).u64(32), kInvalid,
                  "expected u32, found u64");
  // The error says which key-value it was in.
  expect_rejected(Builder().header(0, 2).str("a").u32(4).u32(1).str("bad").u32(8).u64(99), kInvalid,
                  "(in key 'bad', key-value 1 of 2 at offset 41)");
}

TEST(GgufBadInput, InvalidTensorInfosAreRejected) {
  const auto kInvalid = ErrorKind::invalid_input;
  auto one = [](std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Builder b;
    b.header(1, 0).tensor(name, std::move(ne), type, offset).zeros(256);
    return b;
  };
  expect_rejected(one("t", {1, 1, 1, 1, 1}, 0, 0), kInvalid,
                  "tensor has 5 dimensions, at most 4 are allowed");
  expect_rejected(one("t", {1ull << 32, 1ull << 32}, 0, 0), kInvalid,
                  "element count overflows int64 at ne[1] = 4294967296");
  expect_rejected(one("t", {1ull << 63}, 0, 0), kInvalid, "is negative as int64");
  expect_rejected(one("t", {16}, 2, 0), kInvalid, "not a multiple of q4_0's block size 32");
  expect_rejected(one("t", {4}, 4, 0), kInvalid, "tensor type id 4 is not a GGML type");
  expect_rejected(one("t", {4}, 1000, 0), ErrorKind::unsupported,
                  "tensor type id 1000 is newer than the GGML types");
  expect_rejected(one("t", {4}, 0, 4), kInvalid,
                  "data offset 4 (field at offset 49) is not a "
                  "multiple of the alignment 32");
  expect_rejected(one("t", {4}, 0, 32), kInvalid,
                  "data offset 32 (field at offset 49), expected 0");
  expect_rejected(one("t", {1000}, 0, 0), kInvalid, "tensor 't' (f32 4000 bytes) spans");
  expect_rejected(one("t", {1ull << 40, 1ull << 20}, 0, 0), kInvalid, "tensor 't'");
  expect_rejected(one("t", {1, 1, 1, 1, 1}, 0, 0), kInvalid,
                  "(in tensor info 0 of 1 at offset 24, tensor 't')");
  EXPECT_EQ(parse(one("t", {4}, 0, 0).bytes(), "ok.gguf", nullptr).tensors.at(0).n_bytes, 16u);
  Builder dup;
  dup.header(2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).zeros(128);
  expect_rejected(dup, kInvalid, "duplicate tensor name 't'");
}

TEST(GgufBadInput, HeaderProblemsAreNamed) {
  Builder v1;
  v1.header(0, 0, 1);
  expect_rejected(v1, ErrorKind::unsupported, "GGUF version 1 (offset 4) is not supported");
  Builder big_endian;
  big_endian.header(0, 0, 0x03000000u);
  expect_rejected(big_endian, ErrorKind::unsupported, "which is version 3 byte-swapped");
  Builder v4;
  v4.header(0, 0, 4);
  expect_rejected(v4, ErrorKind::invalid_input, "GGUF version 4 at offset 4; expected 2 or 3");
  Builder v0;
  v0.header(0, 0, 0);
  expect_rejected(v0, ErrorKind::invalid_input, "GGUF version 0");
  Builder magic;
  magic.u32(0x4c4d4747u).u32(3);
  expect_rejected(magic, ErrorKind::invalid_input,
                  "not a GGUF file: magic at offset 0 is 47 47 4d 4c, expected 47 47 55 46");
  expect_rejected(Builder(), ErrorKind::invalid_input, "truncated at offset 0 reading magic");
  // A well-formed empty v2 file parses.
  Builder v2;
  v2.header(0, 0, 2);
  const File f = parse(v2.bytes(), "empty.gguf", nullptr);
  EXPECT_EQ(f.version, 2u);
  EXPECT_EQ(f.data_offset, 24u);
}

}  // namespace
}  // namespace slmkit::gguf
