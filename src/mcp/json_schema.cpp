#include "mcp/json_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace slmkit::mcp {

using json = nlohmann::ordered_json;

namespace {

// A value as it appears in a message: short, and safe for any bytes the client sent.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

const char* type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

// JSON Schema's "integer" is any number without a fractional part (2.0 included).
bool has_type(const json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  return type == type_of(v);
}

std::string type_names(const json& type) {
  if (type.is_string()) return type.get<std::string>();
  std::string s;
  for (const json& t : type) s += (s.empty() ? "" : " or ") + t.get<std::string>();
  return s;
}

void check(const json& schema, const json& v, const std::string& where,
           std::vector<std::string>& errors) {
  if (!schema.is_object()) return;
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    if (t->is_string()) ok = has_type(v, t->get<std::string>());
    if (t->is_array()) {
      for (const json& one : *t) ok |= one.is_string() && has_type(v, one.get<std::string>());
    }
    if (!ok) {
      errors.push_back(
          fmt::format("{}: expected {}, found {} {}", where, type_names(*t), type_of(v), shown(v)));
      return;  // the other keywords assume the type
    }
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    if (std::find(e->begin(), e->end(), v) == e->end()) {
      std::string allowed;
      for (const json& a : *e) allowed += (allowed.empty() ? "" : ", ") + shown(a);
      errors.push_back(fmt::format("{}: {} is not one of {}", where, shown(v), allowed));
    }
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && d < m->get<double>()) {
      errors.push_back(fmt::format("{}: {} is below the minimum {}", where, shown(v), shown(*m)));
    }
    if (auto m = schema.find("maximum"); m != schema.end() && d > m->get<double>()) {
      errors.push_back(fmt::format("{}: {} is above the maximum {}", where, shown(v), shown(*m)));
    }
  }
  if (v.is_string()) {
    const size_t n = v.get_ref<const std::string&>().size();
    if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<size_t>()) {
      errors.push_back(
          fmt::format("{}: {} characters, at least {} expected", where, n, m->get<size_t>()));
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<size_t>()) {
      errors.push_back(
          fmt::format("{}: {} characters, at most {} expected", where, n, m->get<size_t>()));
    }
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && v.size() < m->get<size_t>()) {
      errors.push_back(
          fmt::format("{}: {} items, at least {} expected", where, v.size(), m->get<size_t>()));
    }
    if (auto m = schema.find("maxItems"); m != schema.end() && v.size() > m->get<size_t>()) {
      errors.push_back(
          fmt::format("{}: {} items, at most {} expected", where, v.size(), m->get<size_t>()));
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < v.size(); ++i) {
        check(*items, v[i], fmt::format("{}[{}]", where, i), errors);
      }
    }
  }
  if (v.is_object()) {
    const auto props = schema.find("properties");
    if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (const json& name : *r) {
        if (name.is_string() && !v.contains(name.get<std::string>())) {
          errors.push_back(fmt::format("{}: required property \"{}\" is missing", where,
                                       name.get<std::string>()));
        }
      }
    }
    const auto extra = schema.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      const std::string at = where + "." + key;
      if (props != schema.end() && props->contains(key)) {
        check((*props)[key], value, at, errors);
      } else if (extra != schema.end()) {
        if (extra->is_boolean() && !extra->get<bool>()) {
          std::string known;
          if (props != schema.end()) {
            for (const auto& [name, unused] : props->items()) {
              known += (known.empty() ? "" : ", ") + name;
            }
          }
          errors.push_back(fmt::format("{}: unknown property {} (known: {})", where,
                                       shown(json(key)), known.empty() ? "none" : known));
        } else if (extra->is_object()) {
          check(*extra, value, at, errors);
        }
      }
    }
  }
}

void find_unknown(const json& schema, const std::string& pointer, std::vector<std::string>& out) {
  static const std::set<std::string> keywords = {
      "type",    "properties",  "required",  "additionalProperties",
      "items",   "enum",        "minItems",  "maxItems",
      "minimum", "maximum",     "minLength", "maxLength",
      "title",   "description", "default",   "$schema"};
  if (!schema.is_object()) {
    if (!schema.is_boolean()) out.push_back(pointer + " (not a schema)");
    return;
  }
  for (const auto& [key, value] : schema.items()) {
    if (!keywords.count(key)) out.push_back(pointer + "/" + key);
  }
  if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) {
    for (const auto& [name, sub] : p->items()) {
      find_unknown(sub, pointer + "/properties/" + name, out);
    }
  }
  if (auto i = schema.find("items"); i != schema.end()) find_unknown(*i, pointer + "/items", out);
  if (auto a = schema.find("additionalProperties"); a != schema.end() && a->is_object()) {
    find_unknown(*a, pointer + "/additionalProperties", out);
  }
}

}  // namespace

std::vector<std::string> schema_errors(const json& schema, const json& instance,
                                       const std::string& where) {
  std::vector<std::string> errors;
  check(schema, instance, where, errors);
  return errors;
}

std::vector<std::string> unknown_keywords(const json& schema) {
  std::vector<std::string> out;
  find_unknown(schema, "", out);
  return out;
}

}  // namespace slmkit::mcp
