#ifndef PERFWIRE_CLIENTS_LIB_JSON_TEXT_H_
#define PERFWIRE_CLIENTS_LIB_JSON_TEXT_H_

// The one way clients turn a JSON value into text (frame JSON, the
// contention report): nlohmann::json, compact, keys in insertion order,
// doubles in shortest round-trip form, NaN and infinities as null, and each
// byte of a string that is not valid UTF-8 replaced by U+FFFD, so the text
// is valid JSON whatever the kernel or an application handed us.

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace perfwire {

using Json = nlohmann::ordered_json;

inline std::string JsonText(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD,
// by the same rule as JsonText, for the other text outputs (CSV).
inline std::string ValidUtf8(absl::string_view text) {
  const std::string quoted = JsonText(Json(std::string(text)));
  return Json::parse(quoted).get<std::string>();
}

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_JSON_TEXT_H_
