// The part of JSON Schema (2020-12) that the tools' schemas use, checked before any work: type,
// properties, required, additionalProperties, items, enum, minItems / maxItems, minimum /
// maximum, minLength / maxLength. Annotations (title, description, default) are ignored. A
// keyword outside this list in a schema is a bug of ours: unknown_keywords finds them (a test
// runs it over every tool's schemas).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slmkit::mcp {

// Every way `instance` breaks `schema`, each naming where ("arguments.test_prompts[1]") and what
// was expected and found. Empty: valid. `where` names the instance's root.
std::vector<std::string> schema_errors(const nlohmann::ordered_json& schema,
                                       const nlohmann::ordered_json& instance,
                                       const std::string& where = "arguments");

// Keywords in `schema` (recursively) that schema_errors does not implement, as JSON pointers.
std::vector<std::string> unknown_keywords(const nlohmann::ordered_json& schema);

}  // namespace slmkit::mcp
