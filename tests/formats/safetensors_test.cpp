#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "core/half.h"
#include "slmkit/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit::safetensors {
namespace {

using testing::fixture;

const char* kGpt2 = "models/hf-gpt2-tiny-random/model.safetensors";

using testing::expect_error;

std::vector<std::byte> as_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// A file with `header` as its JSON (unpadded) and `data_bytes` zero bytes of data.
std::vector<std::byte> raw_file(const std::string& header, size_t data_bytes) {
  std::vector<std::byte> out(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  auto h = as_bytes(header);
  out.insert(out.end(), h.begin(), h.end());
  out.resize(out.size() + data_bytes);
  return out;
}

File parse_bytes(const std::vector<std::byte>& bytes) {
  return parse(bytes, "mem.safetensors", {});
}

Error parse_error(const std::string& header, size_t data_bytes) {
  auto bytes = raw_file(header, data_bytes);
  return expect_error([&] { parse_bytes(bytes); });
}

float f32_at(const Tensor& t, size_t i) {
  float v;
  std::memcpy(&v, t.data() + i * 4, 4);
  return v;
}

template <typename T>
Tensor make(std::string name, DType type, Shape shape, const std::vector<T>& values) {
  std::vector<std::byte> b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return Tensor::owned(std::move(name), type, std::move(shape), std::move(b));
}

// ---------------------------------------------------------------------------------------------
// The GPT-2 fixture written by transformers 4.47.1.

TEST(Safetensors, ReadsGpt2Fixture) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture(kGpt2));
  EXPECT_EQ(f.bytes.size(), 3247544u);
  EXPECT_EQ(f.data_offset, 8u + 1456u);
  ASSERT_EQ(f.entries.size(), 16u);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  // Entries come in data-offset order, each range starting where the previous one ended.
  EXPECT_EQ(f.entries.front().name, "transformer.h.0.attn.c_attn.bias");
  EXPECT_EQ(f.entries.back().name, "transformer.wte.weight");
  for (size_t i = 1; i < f.entries.size(); ++i) EXPECT_EQ(f.entries[i].begin, f.entries[i - 1].end);

  const Entry* wte = f.find("transformer.wte.weight");
  ASSERT_NE(wte, nullptr);
  EXPECT_EQ(wte->dtype, DType::F32);
  EXPECT_EQ(wte->shape, (Shape{50257, 16}));
  EXPECT_EQ(wte->begin, 29632u);
  EXPECT_EQ(wte->end, 3246080u);
  const Tensor t = f.tensor(*wte);
  EXPECT_EQ(t.name(), "transformer.wte.weight");
  EXPECT_EQ(t.data(), f.bytes.data() + 1464 + 29632);  // a view, not a copy
  EXPECT_EQ(t.owner(), f.owner);
  // Exact values, read with Python's struct module from the file.
  EXPECT_EQ(f32_at(t, 0), 0.002650411333888769f);
  EXPECT_EQ(f32_at(t, 1), 0.05092759430408478f);
  EXPECT_EQ(f32_at(t, 50256 * 16), 0.004937890451401472f);
  EXPECT_EQ(f32_at(t, 50256 * 16 + 1), -0.011839183047413826f);
  EXPECT_EQ(f32_at(t, 50257 * 16 - 1), -0.008685206063091755f);

  const Entry* wpe = f.find("transformer.wpe.weight");
  ASSERT_NE(wpe, nullptr);
  EXPECT_EQ(wpe->shape, (Shape{256, 16}));
  EXPECT_EQ(f32_at(f.tensor(*wpe), 0), 0.01776028424501419f);
  const Entry* c_attn = f.find("transformer.h.0.attn.c_attn.weight");
  ASSERT_NE(c_attn, nullptr);
  EXPECT_EQ(c_attn->shape, (Shape{16, 48}));  // Conv1D: [in, out], transposed by the model loader
}

// Writing the fixture's tensors back, in its order and with its metadata, reproduces the file
// Hugging Face's writer produced, byte for byte.
TEST(Safetensors, WriterReproducesGpt2FixtureBytes) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture(kGpt2));
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const Entry& e : f.entries) tensors.emplace_back(e.name, f.tensor(e));
  const auto dir = testing::temp_dir("st-rewrite");
  write_file(dir / "model.safetensors", tensors, f.metadata);
  const auto written = testing::read_bytes(dir / "model.safetensors");
  const auto original = testing::read_bytes(fixture(kGpt2));
  ASSERT_EQ(written.size(), original.size());
  EXPECT_TRUE(written == original);
  EXPECT_TRUE(to_bytes(tensors, f.metadata) == original);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

// ---------------------------------------------------------------------------------------------
// Round trips.

TEST(Safetensors, RoundTripsEveryDtypeInTheGivenOrder) {
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"z.f32", make<float>("a", DType::F32, {2, 3}, {1, -2, 3.5f, 0, 1e-30f, -0.0f})},
      {"a.f16", make<uint16_t>("b", DType::F16, {3}, {f32_to_f16(1), f32_to_f16(-2), 0x7c00})},
      {"m.bf16", make<uint16_t>("c", DType::BF16, {1, 2}, {f32_to_bf16(3), f32_to_bf16(-1)})},
      {"f64", make<double>("d", DType::F64, {2}, {1e300, -1.5})},
      {"i8", make<int8_t>("e", DType::I8, {5}, {-128, -1, 0, 1, 127})},
      {"i16", make<int16_t>("f", DType::I16, {2}, {-32768, 32767})},
      {"i32", make<int32_t>("g", DType::I32, {1, 1, 2}, {INT32_MIN, INT32_MAX})},
      {"i64", make<int64_t>("h", DType::I64, {1}, {INT64_MIN})},
      {"scalar", make<float>("i", DType::F32, {}, {42.0f})},
      {"empty", make<float>("j", DType::F32, {0, 3}, {})},
  };
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode \"q\""}};
  const auto bytes = to_bytes(tensors, meta);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  const char last = static_cast<char>(bytes[8 + header_len - 1]);
  EXPECT_TRUE(last == ' ' || last == '}') << last;

  const File f = parse_bytes(bytes);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.entries.size(), tensors.size());
  // Data lies in the order given (names are not sorted), so entries in offset order match it.
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const Entry& e = f.entries[i];
    EXPECT_EQ(e.name, name);
    EXPECT_EQ(e.dtype, t.dtype()) << name;
    EXPECT_EQ(e.shape, t.shape()) << name;
    const Tensor back = f.tensor(e);
    ASSERT_EQ(back.n_bytes(), t.n_bytes()) << name;
    EXPECT_TRUE(std::equal(t.bytes().begin(), t.bytes().end(), back.bytes().begin())) << name;
  }
  // A file written to disk reads back the same.
  const auto dir = testing::temp_dir("st-roundtrip");
  write_file(dir / "x.safetensors", tensors, meta);
  EXPECT_TRUE(testing::read_bytes(dir / "x.safetensors") == bytes);
  const File g = read_file(dir / "x.safetensors");
  EXPECT_EQ(g.entries.size(), tensors.size());
}

TEST(Safetensors, HeaderIsPaddedWithSpacesToAMultipleOf8) {
  for (size_t name_len = 1; name_len <= 16; ++name_len) {
    std::vector<std::pair<std::string, Tensor>> tensors = {
        {std::string(name_len, 'w'), make<float>("x", DType::F32, {1}, {1.0f})}};
    const auto bytes = to_bytes(tensors, {});
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    ASSERT_EQ(n % 8, 0u) << name_len;
    std::string header(reinterpret_cast<const char*>(bytes.data() + 8), n);
    const size_t close = header.rfind('}');
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
    EXPECT_LT(n - (close + 1), 8u);
    EXPECT_EQ(header.find("__metadata__"), std::string::npos);  // omitted when empty
    EXPECT_EQ(parse_bytes(bytes).entries.size(), 1u);
  }
}

TEST(Safetensors, WriterRejectsWhatSafetensorsCannotHold) {
  const auto dir = testing::temp_dir("st-reject");
  auto t = make<float>("x", DType::F32, {1}, {1.0f});
  auto dup = expect_error([&] { write_file(dir / "a.safetensors", {{"w", t}, {"w", t}}, {}); });
  EXPECT_EQ(dup.kind(), ErrorKind::invalid_input);
  EXPECT_NE(std::string(dup.what()).find("'w' appears twice"), std::string::npos);
  auto reserved = expect_error([&] {
    write_file(dir / "b.safetensors", {{"__metadata__", t}}, {});
  });
  EXPECT_EQ(reserved.kind(), ErrorKind::invalid_input);
  auto q = Tensor::owned("q", DType::Q8_0, {32}, std::vector<std::byte>(34));
  auto quant = expect_error([&] { write_file(dir / "c.safetensors", {{"q", q}}, {}); });
  EXPECT_EQ(quant.kind(), ErrorKind::unsupported);
  EXPECT_NE(std::string(quant.what()).find("q8_0"), std::string::npos);
  // Nothing was created, not even a temporary.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 0);
}

// ---------------------------------------------------------------------------------------------
// Hostile and malformed headers.

TEST(Safetensors, UnsupportedDtypesNameTheTensor) {
  for (const char* dtype : {"BOOL", "U8", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0"}) {
    const std::string h = std::string(R"({"my.tensor":{"dtype":")") + dtype +
                          R"(","shape":[4],"data_offsets":[0,4]}})";
    const Error e = parse_error(h, 4);
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << dtype;
    const std::string msg = e.what();
    EXPECT_NE(msg.find("mem.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'my.tensor'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(dtype), std::string::npos) << msg;
  }
  const Error unknown = parse_error(R"({"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_EQ(unknown.kind(), ErrorKind::invalid_input);
  EXPECT_NE(std::string(unknown.what()).find("unknown dtype 'Q4'"), std::string::npos);
  std::string rank17 = "[1";
  for (int i = 1; i < 17; ++i) rank17 += ",1";
  const Error deep =
      parse_error(R"({"t":{"dtype":"F32","shape":)" + rank17 + R"(],"data_offsets":[0,4]}})", 4);
  EXPECT_EQ(deep.kind(), ErrorKind::unsupported);
  EXPECT_NE(std::string(deep.what()).find("tensor 't': 17 dimensions, slmkit handles at most 16"),
            std::string::npos)
      << deep.what();
}

struct BadHeader {
  std::string header;
  size_t data_bytes;
  const char* expect;  // a piece of the message
};

TEST(Safetensors, MalformedHeadersAreErrorsNamingTheProblem) {
  using namespace std::string_literals;
  const BadHeader cases[] = {
      {R"([1,2])", 0, "must be a JSON object, found array"},
      {R"({"t":5})", 0, "tensor 't': expected an object"},
      {R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4, "missing field 'dtype'"},
      {R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4, "missing field 'shape'"},
      {R"({"t":{"dtype":"F32","shape":[1]}})", 4, "missing field 'data_offsets'"},
      {R"({"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4, "dtype must be a string"},
      {R"({"t":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", 4, "shape must be an array"},
      {R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "negative integer -1"},
      {R"({"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, "found number 1.5"},
      {R"({"t":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4,
       "too large"},
      {R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}})", 4,
       "overflows"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, "array of 2 integers"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8, "array of 2 integers"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, "end before they begin"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", 4, "non-negative"},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8, "needs 8 bytes"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 4, "run past the end"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})",
       4, "run past the end"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, "overlaps"},
      {R"({"__metadata__":{"format":1}})", 0, "__metadata__ key 'format' must be a string"},
      {R"({"__metadata__":[]})", 0, "__metadata__ must be an object"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", 4, "malformed near offset"},
      {"{\"t\xff\":1}", 0, "malformed"},  // not UTF-8
      {"{}\0"s, 0,
       "NUL byte in the header JSON at offset 10"},  // trailing NUL instead of space padding
  };
  for (const BadHeader& c : cases) {
    const Error e = parse_error(c.header, c.data_bytes);
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << c.header;
    const std::string msg = e.what();
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.header << " -> " << msg;
    EXPECT_EQ(msg.rfind("mem.safetensors: ", 0), 0u) << msg;
  }
}

TEST(Safetensors, HeaderLengthIsChecked) {
  // Too short for the length field.
  for (size_t n = 0; n < 8; ++n) {
    std::vector<std::byte> b(n);
    const Error e = expect_error([&] { parse_bytes(b); });
    EXPECT_NE(std::string(e.what()).find("too short"), std::string::npos);
  }
  auto with_length = [](uint64_t n, size_t total) {
    std::vector<std::byte> b(total, std::byte{' '});
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    return b;
  };
  const Error huge = expect_error([&] { parse_bytes(with_length(UINT64_MAX, 64)); });
  EXPECT_NE(std::string(huge.what()).find("exceeds the 100000000 byte limit"), std::string::npos);
  const Error cap = expect_error([&] { parse_bytes(with_length(kMaxHeaderBytes + 1, 64)); });
  EXPECT_NE(std::string(cap.what()).find("limit"), std::string::npos);
  const Error past = expect_error([&] { parse_bytes(with_length(57, 64)); });
  EXPECT_NE(std::string(past.what()).find("header length 57 at offset 0 runs past the end"),
            std::string::npos);
  EXPECT_NO_THROW(parse_bytes(raw_file("{}", 0)));
  EXPECT_NO_THROW(parse_bytes(raw_file("{}      ", 0)));  // trailing spaces, as HF pads
}

TEST(Safetensors, ZeroSizedAndAdjacentRangesAreAccepted) {
  const File f = parse_bytes(raw_file(R"({"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                                      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("c":{"dtype":"I8","shape":[2,2],"data_offsets":[4,8]}})",
                                      8));
  ASSERT_EQ(f.entries.size(), 3u);
  EXPECT_EQ(f.entries[0].name, "a");
  EXPECT_EQ(f.entries[1].name, "b");
  EXPECT_EQ(f.entries[2].name, "c");
  EXPECT_EQ(f.tensor(f.entries[1]).n_elements(), 0);
}

// Every prefix of a small valid file, and prefixes of the fixture at its structural boundaries
// and at random offsets, are errors that name the file.
TEST(Safetensors, EveryTruncationIsAnError) {
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"a", make<float>("a", DType::F32, {2}, {1, 2})},
      {"b", make<uint16_t>("b", DType::F16, {3}, {1, 2, 3})}};
  const auto whole = to_bytes(tensors, {{"k", "v"}});
  ASSERT_NO_THROW(parse_bytes(whole));
  for (size_t n = 0; n < whole.size(); ++n) {
    std::vector<std::byte> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    const Error e = expect_error([&] { parse_bytes(cut); });
    EXPECT_EQ(std::string(e.what()).rfind("mem.safetensors: ", 0), 0u) << n << ": " << e.what();
  }
}

TEST(Safetensors, FixtureTruncatedAtBoundariesAndRandomOffsets) {
  SLMKIT_REQUIRE_FIXTURES();
  const auto whole = testing::read_bytes(fixture(kGpt2));
  const File f = parse_bytes(whole);
  std::vector<size_t> cuts = {0, 4, 7, 8, 9, 100, 1463, 1464, 1465, whole.size() - 1};
  for (const Entry& e : f.entries) {
    if (e.end > 0) cuts.push_back(static_cast<size_t>(f.data_offset + e.end - 1));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 40; ++i) cuts.push_back(rng() % whole.size());
  for (size_t n : cuts) {
    std::span<const std::byte> cut(whole.data(), n);
    const Error e = expect_error([&] { parse(cut, "cut.safetensors", {}); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << n;
    EXPECT_EQ(std::string(e.what()).rfind("cut.safetensors: ", 0), 0u) << n;
  }
}

// Random byte flips in the header either still parse into ranges inside the file or are an
// Error; reading every tensor of what parses stays inside the buffer (run under ASan to see).
TEST(Safetensors, FlippedHeaderBytesNeverEscape) {
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"w", make<float>("w", DType::F32, {2, 2}, {1, 2, 3, 4})},
      {"b", make<int8_t>("b", DType::I8, {3}, {1, 2, 3})}};
  const auto whole = to_bytes(tensors, {{"format", "pt"}});
  uint64_t header_len = 0;
  std::memcpy(&header_len, whole.data(), 8);
  std::mt19937_64 rng(1234);
  int parsed = 0;
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    auto b = whole;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % (8 + header_len);
      b[at] = static_cast<std::byte>(rng() & 0xff);
    }
    try {
      const File f = parse_bytes(b);
      for (const Entry& e : f.entries) {
        ASSERT_LE(f.data_offset + e.end, b.size());
        const Tensor t = f.tensor(e);
        volatile uint8_t sink = 0;
        for (std::byte x : t.bytes()) sink = sink ^ static_cast<uint8_t>(x);
      }
      ++parsed;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 1000);  // most flips break the JSON or the offsets
  EXPECT_GT(parsed, 0);     // flips inside names or metadata values still parse
}

}  // namespace
}  // namespace slmkit::safetensors
