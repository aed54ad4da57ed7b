// Importance matrix files in llama.cpp's two formats (tools/imatrix/imatrix.cpp save_imatrix and
// save_imatrix_legacy; common/imatrix-loader.cpp reads both).
#include <cmath>
#include <cstring>

#include "core/atomic_file.h"
#include "core/byte_reader.h"
#include "core/fail.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "slmkit/imatrix.h"

namespace slmkit {
namespace {

constexpr std::string_view kSums = ".in_sum2";
constexpr std::string_view kCounts = ".counts";

bool strip_suffix(std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  s.resize(s.size() - suffix.size());
  return true;
}

std::vector<float> f32_values(const gguf::File& f, const gguf::TensorInfo& info) {
  if (info.type != DType::F32) {
    fail_invalid("{}: imatrix tensor '{}' is {}, expected F32", f.path, info.name,
                 dtype_name(info.type));
  }
  const std::span<const std::byte> bytes = f.tensor_data(info);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

ImportanceMatrix read_gguf(const gguf::File& f) {
  ImportanceMatrix im;
  if (const gguf::Value* v = f.find("imatrix.datasets")) {
    for (const gguf::Value& item : v->as_array("imatrix.datasets").items)
      im.datasets.push_back(item.as_string("imatrix.datasets"));
  }
  if (const gguf::Value* v = f.find("imatrix.chunk_count"))
    im.chunk_count = v->as_i64("imatrix.chunk_count");
  if (const gguf::Value* v = f.find("imatrix.chunk_size"))
    im.chunk_size = v->as_i64("imatrix.chunk_size");

  std::map<std::string, std::pair<const gguf::TensorInfo*, const gguf::TensorInfo*>> pairs;
  for (const gguf::TensorInfo& t : f.tensors) {
    std::string name = t.name;
    if (strip_suffix(name, kSums)) {
      pairs[name].first = &t;
    } else if (strip_suffix(name, kCounts)) {
      pairs[name].second = &t;
    }
  }
  if (pairs.empty()) fail_invalid("{}: no imatrix entries (NAME.in_sum2 + NAME.counts)", f.path);
  for (const auto& [name, pair] : pairs) {
    if (!pair.first || !pair.second) {
      fail_invalid("{}: imatrix entry '{}' has {} but no {}", f.path, name,
                   pair.first ? kSums : kCounts, pair.first ? kCounts : kSums);
    }
    ImatrixEntry e;
    e.sums = f32_values(f, *pair.first);
    for (float c : f32_values(f, *pair.second)) e.counts.push_back(std::lround(c));
    if (e.counts.empty() || e.sums.size() % e.counts.size() != 0) {
      fail_invalid("{}: imatrix entry '{}': {} sums do not split over {} counts", f.path, name,
                   e.sums.size(), e.counts.size());
    }
    im.entries.emplace(name, std::move(e));
  }
  return im;
}

ImportanceMatrix read_legacy(std::span<const std::byte> bytes, const std::string& path) {
  ByteReader r(bytes, path);
  ImportanceMatrix im;
  im.legacy = true;
  const auto n_entries = r.read<int32_t>("entry count");
  if (n_entries < 1) r.error("entry count {} (expected at least 1; not a GGUF either)", n_entries);
  for (int32_t i = 0; i < n_entries; ++i) {
    const auto len = r.read<int32_t>("entry name length");
    if (len < 1 || len > 4096) r.error("entry {} name length {}", i, len);
    std::string name(r.string(static_cast<uint64_t>(len), "entry name"));
    const auto ncall = r.read<int32_t>("entry ncall");
    const auto nval = r.read<int32_t>("entry value count");
    if (nval < 1) r.error("entry '{}' has {} values", name, nval);
    ImatrixEntry e;
    e.sums.resize(static_cast<size_t>(nval));
    std::span<const std::byte> data =
        r.bytes(static_cast<uint64_t>(nval) * sizeof(float), "entry values");
    std::memcpy(e.sums.data(), data.data(), data.size());
    e.counts = {ncall};
    im.entries.insert_or_assign(std::move(name), std::move(e));
  }
  // The chunk count and dataset name are optional trailing fields.
  if (r.remaining() >= 4) {
    im.chunk_count = r.read<int32_t>("chunk count");
    if (r.remaining() >= 4) {
      const auto len = r.read<int32_t>("dataset name length");
      if (len > 0) im.datasets.emplace_back(r.string(static_cast<uint64_t>(len), "dataset name"));
    }
  }
  return im;
}

}  // namespace

std::vector<float> ImportanceMatrix::weights(const std::string& name) const {
  const auto it = entries.find(name);
  if (it == entries.end()) return {};
  const ImatrixEntry& e = it->second;
  std::vector<float> w(e.sums.size());
  if (legacy) {
    // values are mean * ncall (llama-quantize divides back)
    const int64_t ncall = e.counts.empty() ? 0 : e.counts[0];
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = ncall > 0 ? e.sums[i] / static_cast<float>(ncall) : e.sums[i];
    return w;
  }
  const size_t n_mat = e.counts.size();
  const size_t ne0 = w.size() / n_mat;
  for (size_t m = 0; m < n_mat; ++m) {
    const auto count = static_cast<float>(e.counts[m]);
    for (size_t i = 0; i < ne0; ++i)
      w[m * ne0 + i] = count > 0.0f ? e.sums[m * ne0 + i] / count : 1.0f;
  }
  return w;
}

ImportanceMatrix read_imatrix(const std::filesystem::path& path) {
  auto file = MappedFile::open(path);
  if (gguf::has_magic(file->bytes())) {
    const gguf::File f = gguf::parse(file->bytes(), path.string(), file);
    return read_gguf(f);
  }
  return read_legacy(file->bytes(), path.string());
}

void write_imatrix(const ImportanceMatrix& im, const std::filesystem::path& path) {
  gguf::Writer w;
  w.set_string("general.type", "imatrix");
  gguf::Array datasets{gguf::ValueType::string, {}};
  for (const std::string& d : im.datasets) datasets.items.push_back(gguf::Value{d});
  w.set("imatrix.datasets", gguf::Value{std::move(datasets)});
  w.set_u32("imatrix.chunk_count", static_cast<uint32_t>(im.chunk_count));
  w.set_u32("imatrix.chunk_size", static_cast<uint32_t>(im.chunk_size));
  // The writer keeps spans until write(), so the f32 counts live here.
  std::vector<std::vector<float>> counts;
  counts.reserve(im.entries.size());
  for (const auto& [name, e] : im.entries) {
    if (e.counts.empty() || e.sums.empty()) continue;
    const auto n_mat = static_cast<int64_t>(e.counts.size());
    const auto ne0 = static_cast<int64_t>(e.sums.size()) / n_mat;
    w.add_tensor(name + std::string(kSums), DType::F32, {n_mat, ne0},
                 std::as_bytes(std::span<const float>(e.sums)));
    auto& c = counts.emplace_back();
    for (int64_t v : e.counts) c.push_back(static_cast<float>(v));
    w.add_tensor(name + std::string(kCounts), DType::F32, {n_mat, 1},
                 std::as_bytes(std::span<const float>(c)));
  }
  w.write(path);
}

void write_imatrix_legacy(const ImportanceMatrix& im, const std::filesystem::path& path) {
  std::string out;
  auto put_i32 = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  int32_t n = 0;
  for (const auto& [name, e] : im.entries) n += e.counts.empty() ? 0 : 1;
  put_i32(n);
  const int64_t chunk_size = im.chunk_size > 0 ? im.chunk_size : 1;
  for (const auto& [name, e] : im.entries) {
    if (e.counts.empty()) continue;
    put_i32(static_cast<int32_t>(name.size()));
    out += name;
    int64_t max_count = 0;
    for (int64_t c : e.counts) max_count = std::max(max_count, c);
    // ceiling division, as llama-imatrix, so that a partial chunk does not store zero
    const auto ncall = static_cast<int32_t>((max_count + chunk_size - 1) / chunk_size);
    put_i32(ncall);
    put_i32(static_cast<int32_t>(e.sums.size()));
    const size_t ne0 = e.sums.size() / e.counts.size();
    for (size_t i = 0; i < e.sums.size(); ++i) {
      float count = static_cast<float>(e.counts[i / ne0]);
      float value = e.sums[i];
      if (count == 0.0f) value = count = 1.0f;
      const float v = value / count * static_cast<float>(ncall);
      out.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  put_i32(static_cast<int32_t>(im.chunk_count));
  const std::string dataset = im.datasets.empty() ? std::string() : im.datasets.back();
  put_i32(static_cast<int32_t>(dataset.size()));
  out += dataset;
  write_file_atomic(path, out);
}

}  // namespace slmkit
