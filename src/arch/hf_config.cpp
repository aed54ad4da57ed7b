#include "arch/arch.h"
#include "core/fail.h"

namespace slmkit::arch::hf {

int64_t get_int(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail_invalid("{}: config.json has no \"{}\"", where, key);
  if (!it->is_number_integer()) {
    fail_invalid("{}: config.json \"{}\" must be an integer, found {}", where, key, it->dump());
  }
  return it->get<int64_t>();
}

int64_t get_int(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    fail_invalid("config.json \"{}\" must be an integer, found {}", key, it->dump());
  }
  return it->get<int64_t>();
}

double get_double(const nlohmann::json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number())
    fail_invalid("config.json \"{}\" must be a number, found {}", key, it->dump());
  return it->get<double>();
}

bool get_bool(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    fail_invalid("config.json \"{}\" must be true or false, found {}", key, it->dump());
  return it->get<bool>();
}

int32_t get_token_id(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return -1;
  const nlohmann::json* v = &*it;
  if (v->is_array()) {
    if (v->empty()) return -1;
    v = &(*v)[0];
  }
  if (!v->is_number_integer())
    fail_invalid("config.json \"{}\" must be a token id, found {}", key, it->dump());
  const int64_t id = v->get<int64_t>();
  if (id < -1 || id > INT32_MAX) fail_invalid("config.json \"{}\" = {} is not a token id", key, id);
  return static_cast<int32_t>(id);
}

}  // namespace slmkit::arch::hf
