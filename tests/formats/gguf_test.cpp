// GGUF container: reading real files, byte-exact rewriting, and the Writer on synthetic content.
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "slmkit/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

namespace slmkit::gguf {
namespace {

using testing::fixture;

// Index of the first differing byte, or -1; a whole-file EXPECT_EQ would print megabytes.
int64_t first_difference(const std::vector<std::byte>& a, std::span<const std::byte> b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<int64_t>(n);
}

void expect_rewrite_identical(const std::filesystem::path& path) {
  const File file = read_file(path);
  const std::vector<std::byte> out = writer_from(file).to_bytes();
  EXPECT_EQ(out.size(), file.bytes.size()) << path;
  EXPECT_EQ(first_difference(out, file.bytes), -1) << path;
}

TEST(GgufRoundTrip, Stories260KIsByteExact) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_rewrite_identical(fixture("models/gguf-stories260K/stories260K.gguf"));
}

TEST(GgufRoundTrip, LlamaTinyRandomIsByteExact) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_rewrite_identical(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf"));
}

TEST(GgufRoundTrip, Stories3MIsByteExact) {
  SLMKIT_REQUIRE_FIXTURES();
  expect_rewrite_identical(fixture("models/stories3M/stories3M.gguf"));
}

// llama.cpp's vocabulary-only files: no tensors, and gguf-py writes no padding after the kvs.
TEST(GgufRoundTrip, VocabOnlyFileIsByteExact) {
  const auto path =
      slmkit::testing::source_dir() / "third_party/peers/llama.cpp/models/ggml-vocab-gpt-2.gguf";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " absent (llama.cpp peer not unpacked)";
  const File file = read_file(path);
  EXPECT_TRUE(file.tensors.empty());
  EXPECT_EQ(file.data_offset, file.bytes.size());
  expect_rewrite_identical(path);
}

TEST(GgufRoundTrip, WriteToFileMatchesToBytes) {
  SLMKIT_REQUIRE_FIXTURES();
  const File file = read_file(fixture("models/gguf-stories260K/stories260K.gguf"));
  const auto dir = testing::temp_dir("gguf-write");
  writer_from(file).write(dir / "copy.gguf");
  const std::vector<std::byte> copy = testing::read_bytes(dir / "copy.gguf");
  EXPECT_EQ(first_difference(copy, file.bytes), -1);
  size_t n_files = 0;  // no temporary left behind
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n_files;
  EXPECT_EQ(n_files, 1u);
}

TEST(GgufRead, Stories260KStructure) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture("models/gguf-stories260K/stories260K.gguf"));
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.kvs.size(), 19u);
  EXPECT_EQ(f.tensors.size(), 48u);
  EXPECT_EQ(f.alignment, 32u);
  EXPECT_EQ(f.data_offset, 14176u);  // tensor infos end at 14152, padded to 32
  EXPECT_EQ(f.kvs.front().key, "tokenizer.ggml.tokens");
  EXPECT_EQ(f.find("general.architecture")->as_string("a"), "llama");
  EXPECT_EQ(f.find("llama.embedding_length")->as_u64("e"), 64u);
  EXPECT_EQ(f.find("llama.block_count")->as_i64("b"), 5);
  EXPECT_EQ(f.find("llama.attention.layer_norm_rms_epsilon")->type(), ValueType::f32);
  EXPECT_EQ(f.find("llama.attention.layer_norm_rms_epsilon")->as_f64("eps"),
            static_cast<double>(1e-5f));
  EXPECT_EQ(f.find("tokenizer.ggml.padding_token_id")->as_u64("p"), 0xFFFFFFFFu);
  EXPECT_EQ(f.find("no.such.key"), nullptr);

  const TensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->shape(), (Shape{512, 64}));
  EXPECT_EQ(embd->ne, (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(embd->type, DType::F32);
  EXPECT_EQ(embd->offset, 0u);
  EXPECT_EQ(embd->n_bytes, 131072u);
  EXPECT_EQ(f.find_tensor("output_norm.weight")->offset, 131072u);
  EXPECT_EQ(f.tensors.back().name, "blk.4.ffn_norm.weight");
  EXPECT_EQ(f.tensors.back().offset, 1170944u);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);

  uint64_t params = 0;
  for (const TensorInfo& t : f.tensors) params += t.n_bytes / 4;
  EXPECT_EQ(params, 260032u + 512u * 64u);  // the .bin shares the classifier; the GGUF does not
}

// The README says the converter kept the weights bit for bit: the embedding table and the
// attention norms sit at known places in the llama2.c checkpoint (7 x int32 header, then
// token_embedding_table [512, 64], rms_att_weight [5, 64]).
TEST(GgufRead, Stories260KTensorsMatchLlama2cCheckpoint) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture("models/gguf-stories260K/stories260K.gguf"));
  const auto bin = testing::read_bytes(fixture("models/llama2c-stories260K/stories260K.bin"));
  const size_t header = 7 * 4;
  const size_t embd_bytes = 512 * 64 * 4;
  ASSERT_GT(bin.size(), header + embd_bytes + 5 * 64 * 4);

  const Tensor embd = f.tensor(*f.find_tensor("token_embd.weight"));
  EXPECT_EQ(embd.shape(), (Shape{512, 64}));
  EXPECT_EQ(embd.owner(), f.owner);
  EXPECT_EQ(std::memcmp(embd.data(), bin.data() + header, embd_bytes), 0);
  for (int layer = 0; layer < 5; ++layer) {
    const Tensor norm =
        f.tensor(*f.find_tensor("blk." + std::to_string(layer) + ".attn_norm.weight"));
    ASSERT_EQ(norm.n_bytes(), 256u);
    EXPECT_EQ(std::memcmp(norm.data(), bin.data() + header + embd_bytes + layer * 256u, 256), 0)
        << layer;
  }
}

TEST(GgufRead, LlamaTinyRandomStructure) {
  SLMKIT_REQUIRE_FIXTURES();
  const File f = read_file(fixture("models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf"));
  EXPECT_EQ(f.kvs.size(), 18u);
  EXPECT_EQ(f.tensors.size(), 12u);
  EXPECT_EQ(f.data_offset, 724416u);  // infos end at 724398
  EXPECT_EQ(f.find("general.name")->as_string("n"), "LLaMA v2");
  EXPECT_EQ(f.find("general.file_type")->as_u64("t"), 1u);
  const TensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, DType::F16);
  EXPECT_EQ(embd->shape(), (Shape{32000, 8}));
  EXPECT_EQ(embd->n_bytes, 512000u);
  const Tensor t = f.tensor(*embd);
  const std::vector<float> values = t.to_f32();
  ASSERT_EQ(values.size(), 256000u);
  for (float v : values) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->as_array("t").items.size(), 32000u);
}

TEST(GgufRead, HasMagic) {
  const std::vector<std::byte> good{std::byte{'G'}, std::byte{'G'}, std::byte{'U'}, std::byte{'F'}};
  EXPECT_TRUE(has_magic(good));
  EXPECT_FALSE(has_magic(std::span(good).first(3)));
  const std::vector<std::byte> bad{std::byte{'G'}, std::byte{'G'}, std::byte{'M'}, std::byte{'L'}};
  EXPECT_FALSE(has_magic(bad));
}

TEST(GgufRead, MissingFileIsIoError) {
  try {
    read_file("/nonexistent/model.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

// --- Writer on synthetic content ----------------------------------------------------------------

Value nested(uint32_t depth) {
  Array a;
  if (depth == 1) {
    a.type = ValueType::u16;
    a.items = {Value{uint16_t{7}}, Value{uint16_t{65535}}};
  } else {
    a.type = ValueType::array;
    a.items = {nested(depth - 1), nested(depth - 1)};
  }
  return Value{std::move(a)};
}

std::vector<std::byte> iota_bytes(size_t n, int seed) {
  std::vector<std::byte> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
  return b;
}

TEST(GgufWriter, EveryValueTypeSurvives) {
  Writer w(2);
  w.set("u8", Value{uint8_t{200}});
  w.set("i8", Value{int8_t{-5}});
  w.set("u16", Value{uint16_t{60000}});
  w.set("i16", Value{int16_t{-30000}});
  w.set_u32("u32", 4000000000u);
  w.set_i32("i32", -2000000000);
  w.set_f32("f32", -0.0f);
  w.set_bool("bool", true);
  w.set_string("string", std::string("h\0llo", 5));  // embedded zero byte
  w.set("u64", Value{uint64_t{0xFFFFFFFFFFFFFFFFull}});
  w.set("i64", Value{int64_t{-(1ll << 62)}});
  w.set("f64", Value{std::nan("")});
  w.set("empty", Value{Array{ValueType::string, {}}});
  w.set("nested", nested(kMaxArrayDepth));
  w.set("strings",
        Value{Array{ValueType::string, {Value{std::string("a")}, Value{std::string()}}}});
  const std::vector<std::byte> bytes = w.to_bytes();
  const File f = parse(bytes, "synthetic.gguf", nullptr);

  EXPECT_EQ(f.version, 2u);
  ASSERT_EQ(f.kvs.size(), 15u);
  EXPECT_EQ(f.tensors.size(), 0u);
  EXPECT_EQ(f.data_offset, bytes.size());
  const char* order[] = {"u8",     "i8",  "u16", "i16", "u32",   "i32",    "f32",    "bool",
                         "string", "u64", "i64", "f64", "empty", "nested", "strings"};
  for (size_t i = 0; i < f.kvs.size(); ++i) EXPECT_EQ(f.kvs[i].key, order[i]);
  // The variant's index is the GGUF type id: u8 = 0 ... f64 = 12, array = 9.
  const uint32_t type_ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 9, 9, 9};
  for (size_t i = 0; i < f.kvs.size(); ++i) {
    EXPECT_EQ(static_cast<uint32_t>(f.kvs[i].value.type()), type_ids[i]) << f.kvs[i].key;
  }
  EXPECT_EQ(f.find("u8")->as_u64("u8"), 200u);
  EXPECT_EQ(f.find("i8")->as_i64("i8"), -5);
  EXPECT_EQ(f.find("u16")->as_u64("u16"), 60000u);
  EXPECT_EQ(f.find("i16")->as_i64("i16"), -30000);
  EXPECT_EQ(f.find("u32")->as_u64("u32"), 4000000000u);
  EXPECT_EQ(f.find("i32")->as_f64("i32"), -2e9);
  EXPECT_TRUE(std::signbit(std::get<float>(f.find("f32")->v)));
  EXPECT_TRUE(f.find("bool")->as_bool("bool"));
  EXPECT_EQ(f.find("string")->as_string("s"), std::string("h\0llo", 5));
  EXPECT_EQ(f.find("u64")->as_u64("u64"), 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(f.find("i64")->as_i64("i64"), -(1ll << 62));
  EXPECT_TRUE(std::isnan(f.find("f64")->as_f64("f64")));
  EXPECT_EQ(f.find("empty")->as_array("e").type, ValueType::string);
  EXPECT_TRUE(f.find("empty")->as_array("e").items.empty());
  const Value* v = f.find("nested");
  for (uint32_t d = 1; d < kMaxArrayDepth; ++d) {
    ASSERT_EQ(v->as_array("n").type, ValueType::array);
    ASSERT_EQ(v->as_array("n").items.size(), 2u);
    v = &v->as_array("n").items[1];
  }
  EXPECT_EQ(v->as_array("n").type, ValueType::u16);
  EXPECT_EQ(v->as_array("n").items[1].as_u64("n"), 65535u);
  EXPECT_EQ(f.find("strings")->as_array("s").items[1].as_string("s"), "");

  EXPECT_EQ(writer_from(f).to_bytes(), bytes);
}

TEST(GgufWriter, CheckedAccessorsNameKeyAndType) {
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { Value{int8_t{-1}}.as_u64("k.neg"); }),
            "key 'k.neg': expected a non-negative integer, found -1");
  EXPECT_EQ(message([] { Value{uint64_t{1ull << 63}}.as_i64("k.big"); }),
            "key 'k.big': value 9223372036854775808 does not fit in a signed 64-bit integer");
  EXPECT_EQ(message([] { Value{std::string("x")}.as_f64("k.s"); }),
            "key 'k.s': expected a number, found string");
  EXPECT_EQ(message([] {
              Value{Array{ValueType::i32, {}}}.as_string("k.a");
            }),
            "key 'k.a': expected string, found array of i32");
  EXPECT_EQ(message([] { Value{uint32_t{1}}.as_bool("k.b"); }),
            "key 'k.b': expected bool, found u32");
  EXPECT_EQ(message([] { Value{true}.as_u64("k.t"); }),
            "key 'k.t': expected an unsigned integer, found bool");
}

TEST(GgufWriter, TensorsAreAlignedAndPadded) {
  Writer w;
  w.set_u32("general.alignment", 64);
  w.set_string("general.architecture", "test");
  const auto a = iota_bytes(3 * 5 * 4, 1);       // F32 [3, 5]
  const auto b = iota_bytes(2 * 18, 2);          // Q4_0 [2, 32]: one block per row
  const auto c = iota_bytes(7 * 2, 3);           // F16 [7]
  const auto d = iota_bytes(2 * 2 * 2 * 34, 4);  // Q8_0 [2, 2, 2, 32]
  w.add_tensor("a", DType::F32, {3, 5}, a);
  w.add_tensor("b", DType::Q4_0, {2, 32}, b);
  w.add_tensor(Tensor::owned("c", DType::F16, {7}, c));
  w.add_tensor("d", DType::Q8_0, {2, 2, 2, 32}, d);
  const std::vector<std::byte> bytes = w.to_bytes();
  const File f = parse(bytes, "aligned.gguf", nullptr);

  EXPECT_EQ(f.alignment, 64u);
  EXPECT_EQ(f.data_offset % 64, 0u);
  ASSERT_EQ(f.tensors.size(), 4u);
  const uint64_t expected_offsets[] = {0, 64, 128, 192};
  const std::vector<std::byte>* data[] = {&a, &b, &c, &d};
  for (size_t i = 0; i < 4; ++i) {
    const TensorInfo& t = f.tensors[i];
    EXPECT_EQ(t.offset, expected_offsets[i]) << t.name;
    const auto got = f.tensor_data(t);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data[i]->begin(), data[i]->end())) << t.name;
    const uint64_t end = f.data_offset + t.offset + t.n_bytes;
    const uint64_t padded = (end + 63) / 64 * 64;
    for (uint64_t p = end; p < padded; ++p) EXPECT_EQ(bytes[p], std::byte{0}) << t.name << p;
  }
  EXPECT_EQ(f.tensors[0].ne, (std::vector<uint64_t>{5, 3}));
  EXPECT_EQ(f.tensors[3].shape(), (Shape{2, 2, 2, 32}));
  EXPECT_EQ(f.tensors[3].type, DType::Q8_0);
  EXPECT_EQ(bytes.size(), f.data_offset + 192 + 320);  // d: 272 bytes padded to 320
  EXPECT_EQ(writer_from(f).to_bytes(), bytes);
}

// A deferred tensor is laid out from its type and shape alone and made only when written: the
// file equals one written from the bytes themselves, made once per write.
TEST(GgufWriter, DeferredTensorsWriteTheSameFile) {
  const auto a = iota_bytes(3 * 5 * 4, 1);  // F32 [3, 5]
  const auto b = iota_bytes(2 * 18, 2);     // Q4_0 [2, 32]
  Writer eager;
  eager.set_string("general.architecture", "test");
  eager.add_tensor("a", DType::F32, {3, 5}, a);
  eager.add_tensor("b", DType::Q4_0, {2, 32}, b);
  Writer deferred;
  deferred.set_string("general.architecture", "test");
  int made = 0;
  deferred.add_deferred_tensor("a", DType::F32, {3, 5}, [&] {
    ++made;
    return a;
  });
  deferred.add_tensor("b", DType::Q4_0, {2, 32}, b);
  EXPECT_EQ(made, 0);
  EXPECT_EQ(deferred.header(), eager.header());
  EXPECT_EQ(deferred.to_bytes(), eager.to_bytes());
  EXPECT_EQ(made, 1);

  Writer wrong;
  wrong.add_deferred_tensor("a", DType::F32, {3, 5}, [&] { return b; });
  const Error e = testing::expect_error([&] { (void)wrong.to_bytes(); });
  EXPECT_EQ(e.kind(), ErrorKind::internal);
  EXPECT_TRUE(testing::contains(e, "'a'")) << e.what();
}

TEST(GgufWriter, SetReplacesInPlaceAndRemoveDeletes) {
  Writer w;
  w.set_u32("a", 1);
  w.set_u32("b", 2);
  w.set_u32("c", 3);
  w.set_string("a", "first");
  w.remove("b");
  w.remove("missing");
  EXPECT_EQ(w.find("a")->as_string("a"), "first");
  EXPECT_EQ(w.find("b"), nullptr);
  const File f = parse(w.to_bytes(), "set.gguf", nullptr);
  ASSERT_EQ(f.kvs.size(), 2u);
  EXPECT_EQ(f.kvs[0].key, "a");
  EXPECT_EQ(f.kvs[1].key, "c");
}

void expect_writer_error(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GgufWriter, RejectsWhatLlamaCppCouldNotRead) {
  const auto four = iota_bytes(4, 0);
  expect_writer_error([&] { Writer().add_tensor("x", DType::F32, {2}, four); }, "needs 8 bytes");
  expect_writer_error([&] { Writer().add_tensor("x", DType::Q4_0, {16}, four); }, "block size");
  expect_writer_error(
      [&] {
        Writer w;
        w.add_tensor("x", DType::F32, {1}, four);
        w.add_tensor("x", DType::F32, {1}, four);
      },
      "duplicate tensor name 'x'");
  expect_writer_error([&] { Writer().add_tensor(std::string(64, 'n'), DType::F32, {1}, four); },
                      "at most 63");
  expect_writer_error(
      [&] {
        Writer().add_tensor("x", DType::F32, {1, 1, 1, 1, 1}, four);
      },
      "5 dimensions");
  expect_writer_error(
      [] {
        Writer w;
        w.set_u32("general.alignment", 48);
        (void)w.to_bytes();
      },
      "48 is not a power of two");
  expect_writer_error(
      [] {
        Writer w;
        w.set_i32("general.alignment", 32);
        (void)w.to_bytes();
      },
      "expected u32, found i32");
  expect_writer_error(
      [] {
        Writer w;
        w.set("mixed", Value{Array{ValueType::u8, {Value{uint8_t{1}}, Value{int8_t{1}}}}});
        (void)w.to_bytes();
      },
      "element 1 of an array of u8 is i8");
  expect_writer_error(
      [] {
        Writer w;
        w.set("deep", nested(kMaxArrayDepth + 1));
        (void)w.to_bytes();
      },
      "nested more than 8 deep");
  expect_writer_error([] { (void)Writer(1).to_bytes(); }, "version 1 cannot be written");
  expect_writer_error([] { Writer().set_u32("", 1); }, "empty key");
}

TEST(GgufWriter, ScalarTensorIsWrittenAsOneElement) {
  Writer w;
  const auto four = iota_bytes(4, 9);
  w.add_tensor("s", DType::F32, {}, four);
  const File f = parse(w.to_bytes(), "scalar.gguf", nullptr);
  EXPECT_EQ(f.tensors[0].ne, (std::vector<uint64_t>{1}));
  EXPECT_EQ(f.tensors[0].n_bytes, 4u);
}

}  // namespace
}  // namespace slmkit::gguf
