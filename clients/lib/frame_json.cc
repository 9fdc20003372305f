#include "clients/lib/frame_json.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "flatbuffers/idl.h"
#include "schema_text.h"

namespace perfwire {
namespace {

// FlatBuffers writes a byte that is not valid UTF-8 as "\xNN", which JSON
// does not allow; rewrite it as "\u00NN". Every backslash in the output
// starts an escape sequence, so scanning escape by escape is exact.
std::string FixByteEscapes(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == 'x') {
      out += "\\u00";
    } else {
      out += text[i];
      out += text[i + 1];
    }
    ++i;
  }
  return out;
}

// Removes the line breaks FlatBuffers may emit between fields; string values
// never contain raw newlines (they are escaped).
std::string JoinLines(std::string text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\n' && c != '\r') out += c;
  }
  return out;
}

}  // namespace

absl::StatusOr<FrameJson> FrameJson::Create() {
  flatbuffers::IDLOptions options;
  options.strict_json = true;
  options.output_default_scalars_in_json = true;
  options.indent_step = -1;       // no indentation, no line breaks
  options.allow_non_utf8 = true;  // see FixByteEscapes
  auto parser = std::make_unique<flatbuffers::Parser>(options);
  if (!parser->Parse(kSchemaText)) {
    return absl::InternalError(
        absl::StrCat("embedded schema does not parse: ", parser->error_));
  }
  return FrameJson(std::move(parser));
}

FrameJson::FrameJson(std::unique_ptr<flatbuffers::Parser> parser)
    : parser_(std::move(parser)) {}
FrameJson::FrameJson(FrameJson&&) noexcept = default;
FrameJson& FrameJson::operator=(FrameJson&&) noexcept = default;
FrameJson::~FrameJson() = default;

absl::StatusOr<std::string> FrameJson::ToJson(
    const uint8_t* frame_without_prefix) const {
  std::string text;
  if (!flatbuffers::GenerateText(*parser_, frame_without_prefix, &text)) {
    return absl::InternalError("FlatBuffers could not render a frame as JSON");
  }
  return JoinLines(FixByteEscapes(text));
}

}  // namespace perfwire
