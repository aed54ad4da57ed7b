// Manifests and checksums. Paths inside a manifest are relative to the output root (the folder
// holding manifests/), so a deployment folder can move and still verify.
#include "slmkit/manifest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "arch/arch.h"
#include "core/atomic_file.h"
#include "core/fail.h"
#include "formats/gguf.h"
#include "formats/model_io.h"
#include "slmkit/model.h"
#include "slmkit/version.h"
#include "validate/artifact.h"
#include "validate/validate_loaded.h"

namespace slmkit {

namespace fs = std::filesystem;

std::string sha256_file(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail_io("{}: cannot open for hashing", path.string());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(f, std::fclose);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    fail(ErrorKind::internal, "OpenSSL: SHA-256 unavailable");
  std::vector<unsigned char> buf(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    if (EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1)
      fail(ErrorKind::internal, "OpenSSL: SHA-256 update failed");
  }
  if (std::ferror(f)) fail_io("{}: read error while hashing", path.string());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1)
    fail(ErrorKind::internal, "OpenSSL: SHA-256 final failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

namespace {

std::string now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Relative to base when the file is under it, else absolute (verify then needs no base).
fs::path relative_to(const fs::path& p, const fs::path& base) {
  const fs::path abs = fs::weakly_canonical(fs::absolute(p));
  const fs::path b = fs::weakly_canonical(fs::absolute(base));
  const fs::path rel = abs.lexically_relative(b);
  if (rel.empty() || *rel.begin() == "..") return abs;
  return rel;
}

void fill_from_config(Manifest& m, const ModelConfig& c) {
  m.architecture = c.arch;
  m.vocab_size = c.vocab_size;
  m.context_length = c.context_length;
  m.embedding_dim = c.n_embd;
  m.num_layers = c.n_layer;
  m.num_heads = c.n_head;
}

template <typename T>
T get_field(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) fail_invalid("manifest: field \"{}\" missing", key);
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail_invalid("manifest: field \"{}\": {}", key, e.what());
  }
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

nlohmann::ordered_json Manifest::to_json() const {
  nlohmann::ordered_json j;
  j["model_name"] = model_name;
  j["artifact"] = artifact.generic_string();
  j["version"] = version;
  j["format"] = format;
  j["quantization"] = quantization;
  j["architecture"] = architecture;
  j["parameters"] = parameters;
  j["vocab_size"] = vocab_size;
  j["context_length"] = context_length;
  j["embedding_dim"] = embedding_dim;
  j["num_layers"] = num_layers;
  j["num_heads"] = num_heads;
  j["size_bytes"] = size_bytes;
  j["checksum"] = checksum;
  j["created"] = created;
  j["target_architectures"] = target_architectures;
  nlohmann::ordered_json verified = nlohmann::ordered_json::array();
  for (const VerifiedTarget& v : verified_on) {
    verified.push_back({{"arch", v.arch},
                        {"isa", v.isa},
                        {"how", v.how},
                        {"runtime", v.runtime},
                        {"checks", v.checks}});
  }
  j["verified_on"] = std::move(verified);
  j["performance"] = performance;
  nlohmann::ordered_json files_j = nlohmann::ordered_json::object();
  for (const ManifestFile& f : files) {
    files_j[f.role] = {
        {"path", f.path.generic_string()}, {"size", f.size_bytes}, {"sha256", f.sha256}};
  }
  j["files"] = files_j;
  j["synthetic"] = synthetic;
  if (!model_info.empty()) j["model_info"] = model_info;
  return j;
}

Manifest Manifest::from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) fail_invalid("manifest: expected a JSON object");
  Manifest m;
  m.model_name = get_field<std::string>(j, "model_name");
  if (j.contains("artifact")) m.artifact = get_field<std::string>(j, "artifact");
  m.version = get_field<std::string>(j, "version");
  m.format = get_field<std::string>(j, "format");
  m.quantization = get_field<std::string>(j, "quantization");
  m.architecture = get_field<std::string>(j, "architecture");
  m.parameters = get_field<uint64_t>(j, "parameters");
  m.vocab_size = get_field<int64_t>(j, "vocab_size");
  m.context_length = get_field<int64_t>(j, "context_length");
  m.embedding_dim = get_field<int64_t>(j, "embedding_dim");
  m.num_layers = get_field<int64_t>(j, "num_layers");
  m.num_heads = get_field<int64_t>(j, "num_heads");
  m.size_bytes = get_field<uint64_t>(j, "size_bytes");
  m.checksum = get_field<std::string>(j, "checksum");
  if (!m.checksum.starts_with("sha256:") || !is_hex64(m.checksum.substr(7)))
    fail_invalid("manifest: field \"checksum\" is \"{}\", expected sha256:<64 hex digits>",
                 m.checksum);
  m.created = get_field<std::string>(j, "created");
  m.target_architectures = get_field<std::vector<std::string>>(j, "target_architectures");
  if (j.contains("verified_on")) {  // absent in manifests written before it existed
    const auto list = get_field<nlohmann::ordered_json>(j, "verified_on");
    if (!list.is_array()) fail_invalid("manifest: field \"verified_on\" is not an array");
    for (size_t i = 0; i < list.size(); ++i) {
      VerifiedTarget v;
      try {
        v.arch = list[i].at("arch").get<std::string>();
        v.isa = list[i].at("isa").get<std::string>();
        v.how = list[i].at("how").get<std::string>();
        v.runtime = list[i].at("runtime").get<std::string>();
        v.checks = list[i].at("checks").get<std::vector<std::string>>();
      } catch (const nlohmann::json::exception& e) {
        fail_invalid("manifest: verified_on[{}]: {}", i, e.what());
      }
      m.verified_on.push_back(std::move(v));
    }
  }
  if (j.contains("performance")) m.performance = j["performance"];
  if (!m.performance.is_object()) fail_invalid("manifest: field \"performance\" is not an object");
  const auto files_j = get_field<nlohmann::ordered_json>(j, "files");
  if (!files_j.is_object()) fail_invalid("manifest: field \"files\" is not an object");
  for (const auto& [role, f] : files_j.items()) {
    if (!f.is_object()) fail_invalid("manifest: files.{} is not an object", role);
    ManifestFile mf;
    mf.role = role;
    try {
      mf.path = f.at("path").get<std::string>();
      mf.size_bytes = f.at("size").get<uint64_t>();
      mf.sha256 = f.at("sha256").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      fail_invalid("manifest: files.{}: {}", role, e.what());
    }
    if (!is_hex64(mf.sha256))
      fail_invalid("manifest: files.{}.sha256 is \"{}\", expected 64 hex digits", role, mf.sha256);
    m.files.push_back(std::move(mf));
  }
  if (j.contains("synthetic")) m.synthetic = get_field<bool>(j, "synthetic");
  if (j.contains("model_info")) {
    m.model_info = j["model_info"];
    if (!m.model_info.is_object()) fail_invalid("manifest: field \"model_info\" is not an object");
  }
  return m;
}

std::string recognizable_model_name(const std::string& stored, const std::string& architecture,
                                    const std::string& fallback) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  if (stored.empty() || lower(stored) == lower(architecture)) return fallback;
  return stored;
}

namespace {

// Every file of the artifact with its size and hash; the "model" role's hash is the checksum.
void add_files(Manifest& m, const artifact::Info& info, const fs::path& base) {
  for (const artifact::RoleFile& rf : artifact::files_of(info)) {
    ManifestFile f;
    f.role = rf.role;
    f.path = relative_to(rf.path, base);
    f.size_bytes = fs::file_size(rf.path);
    f.sha256 = sha256_file(rf.path);
    m.size_bytes += f.size_bytes;
    if (rf.role == "model") m.checksum = "sha256:" + f.sha256;
    m.files.push_back(std::move(f));
  }
}

Manifest started(const fs::path& artifact_path, const fs::path& base) {
  Manifest m;
  m.artifact = relative_to(artifact_path, base);
  m.version = version();
  m.created = now_iso8601();
  return m;
}

}  // namespace

namespace validation {

Manifest describe_gguf(const fs::path& artifact_path, const fs::path& base, const gguf::File& f,
                       const Model& model, const std::string& model_name) {
  Manifest m = started(artifact_path, base);
  m.format = "gguf";
  fill_from_config(m, model.config);
  m.model_name = !model_name.empty() ? model_name
                                     : recognizable_model_name(model.config.name, model.config.arch,
                                                               artifact_path.stem().string());
  m.parameters = static_cast<uint64_t>(model.n_parameters());
  m.quantization = artifact::gguf_quantization(f);
  m.synthetic = model.source.synthetic;
  add_files(m, artifact::classify(artifact_path), base);
  return m;
}

}  // namespace validation

Manifest describe_artifact(const fs::path& artifact_path, const fs::path& base,
                           const std::string& model_name) {
  const artifact::Info info = artifact::classify(artifact_path);
  if (info.kind == artifact::Kind::gguf) {
    const gguf::File f = gguf::read_file(artifact_path);
    return validation::describe_gguf(artifact_path, base, f, model_from_gguf(f), model_name);
  }
  Manifest m = started(artifact_path, base);
  m.format = "onnx";
  const ModelConfig c = artifact::onnx_config(info);
  fill_from_config(m, c);
  m.model_name =
      !model_name.empty()
          ? model_name
          : recognizable_model_name(
                c.name, c.arch,
                (info.root.empty() ? artifact_path.stem() : info.root.filename()).string());
  // An ONNX graph holds no parameter count; the config implies it (a tied head counted once).
  for (const arch::TensorSpec& spec : arch::expected_tensors(c)) {
    if (!spec.required) continue;
    uint64_t n = 1;
    for (int64_t d : spec.shape) n *= static_cast<uint64_t>(d);
    m.parameters += n;
  }
  const std::vector<std::string> ps = artifact::precisions(info);
  m.quantization = ps.empty() ? "fp32" : ps.front();
  for (size_t i = 1; i < ps.size(); ++i) m.quantization += "+" + ps[i];
  std::ifstream in(info.config_json);
  const auto cfg = nlohmann::json::parse(in, nullptr, false);
  m.synthetic = cfg.is_object() && cfg.contains("slmkit_synthetic");
  add_files(m, info, base);
  return m;
}

void add_verification(Manifest& m, const ValidationReport& report) {
  if (!report.passed() || report.checks.empty()) return;
  VerifiedTarget v;
  v.arch = report.ran_on.arch;
  v.how = report.ran_on.how;
  const bool onnx = report.format == "onnx";
  v.isa = onnx ? report.ran_on.cpu_isa : report.ran_on.isa;
  v.runtime = onnx ? "onnxruntime" : "slmkit";
  for (const ValidationCheck& c : report.checks) {
    if (std::find(v.checks.begin(), v.checks.end(), c.category) == v.checks.end())
      v.checks.push_back(c.category);
  }
  for (VerifiedTarget& have : m.verified_on) {
    if (have.arch == v.arch && have.isa == v.isa && have.how == v.how &&
        have.runtime == v.runtime) {
      for (const std::string& c : v.checks) {
        if (std::find(have.checks.begin(), have.checks.end(), c) == have.checks.end())
          have.checks.push_back(c);
      }
      return;
    }
  }
  m.verified_on.push_back(v);
  if (std::find(m.target_architectures.begin(), m.target_architectures.end(), v.arch) ==
      m.target_architectures.end()) {
    m.target_architectures.push_back(v.arch);
  }
}

fs::path write_manifest(const Manifest& manifest, const fs::path& dir) {
  fs::create_directories(dir);
  const std::string name =
      manifest.artifact.empty() ? manifest.model_name : manifest.artifact.stem().string();
  if (name.empty()) fail_invalid("manifest: neither artifact nor model_name is set");
  const fs::path out = dir / (name + ".json");
  write_file_atomic(out, manifest.to_json().dump(2) + "\n");
  return out;
}

fs::path write_checksums(const std::vector<Manifest>& manifests, const fs::path& dir) {
  fs::create_directories(dir);
  std::map<std::string, std::string> lines;  // path -> hash, sorted by path, duplicates once
  for (const Manifest& m : manifests) {
    for (const ManifestFile& f : m.files) {
      const std::string p = f.path.generic_string();
      auto [it, inserted] = lines.emplace(p, f.sha256);
      if (!inserted && it->second != f.sha256)
        fail_invalid("checksums: {} listed twice with different sha256 ({} and {})", p, it->second,
                     f.sha256);
    }
  }
  std::string text;
  for (const auto& [p, h] : lines) {
    if (p.find('\n') != std::string::npos || p.find('\\') != std::string::npos)
      fail_unsupported("checksums: path {} has a newline or backslash", p);
    text += h + "  " + p + "\n";
  }
  const fs::path out = dir / "checksums.txt";
  write_file_atomic(out, text);
  return out;
}

std::vector<VerifyProblem> verify_manifest(const fs::path& path) {
  if (!fs::exists(path)) fail_io("{}: not found", path.string());
  // Manifests live in ROOT/manifests/; the paths they list are relative to ROOT.
  const fs::path root = fs::absolute(path).parent_path().parent_path();
  struct Entry {
    fs::path path;
    std::optional<uint64_t> size;
    std::string sha256;
  };
  std::vector<Entry> entries;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_io("{}: cannot open", path.string());
  if (path.extension() == ".json") {
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      fail_invalid("{}: {}", path.string(), e.what());
    }
    Manifest m;
    try {
      m = Manifest::from_json(j);
    } catch (const Error& e) {
      throw Error(e.kind(), path.string() + ": " + e.what());
    }
    for (const ManifestFile& f : m.files) entries.push_back({f.path, f.size_bytes, f.sha256});
  } else {
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      // sha256sum writes "HEX  path" (text mode) or "HEX *path" (binary mode).
      if (line.size() < 67 || !is_hex64(line.substr(0, 64)) || line[64] != ' ' ||
          (line[65] != ' ' && line[65] != '*')) {
        fail_invalid("{}: line {}: expected \"<64 hex digits>  <path>\" (sha256sum format)",
                     path.string(), n);
      }
      entries.push_back({line.substr(66), std::nullopt, line.substr(0, 64)});
    }
  }
  std::vector<VerifyProblem> problems;
  for (const Entry& e : entries) {
    const fs::path full = e.path.is_absolute() ? e.path : root / e.path;
    if (!fs::exists(full)) {
      problems.push_back({e.path, "missing"});
      continue;
    }
    const uint64_t size = fs::file_size(full);
    if (e.size && size != *e.size) {
      problems.push_back({e.path, fmt::format("size {} != {}", size, *e.size)});
      continue;
    }
    const std::string h = sha256_file(full);
    if (h != e.sha256) problems.push_back({e.path, fmt::format("sha256 {} != {}", h, e.sha256)});
  }
  return problems;
}

}  // namespace slmkit
