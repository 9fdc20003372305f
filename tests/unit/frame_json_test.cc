#include "clients/lib/frame_json.h"

#include <string>

#include "clients/lib/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::Thread;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Render(const TestFrame& spec) {
  auto message = BuildFrame(spec);
  absl::StatusOr<FrameJson> json = FrameJson::Create();
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok()) return "";
  absl::StatusOr<std::string> text =
      json->ToJson(message->data() + kWirePrefixBytes);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// A minimal JSON syntax check: balanced braces and brackets outside strings,
// only legal escapes inside them, no raw control characters.
bool LooksLikeJson(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (in_string) {
      if (c < 0x20) return false;
      if (c == '"') in_string = false;
      if (c == '\\') {
        if (i + 1 >= text.size()) return false;
        const char e = text[++i];
        if (std::string("\"\\/bfnrtu").find(e) == std::string::npos) {
          return false;
        }
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string && !text.empty() && text.front() == '{' &&
         text.back() == '}';
}

TEST(FrameJson, RendersAFrameAsOneLineWithSchemaFieldNames) {
  TestFrame spec;
  spec.seq = 42;
  spec.with_sources = true;
  spec.threads.push_back(Thread(101, 100, "worker", 12345));
  spec.threads.push_back(Thread(102, 100, "idle", 0));
  spec.threads.back().exited = true;
  const std::string text = Render(spec);
  EXPECT_THAT(text, Not(HasSubstr("\n")));
  EXPECT_TRUE(LooksLikeJson(text)) << text;
  EXPECT_THAT(text, HasSubstr("\"seq\": 42"));
  EXPECT_THAT(text, HasSubstr("\"tid\": 101"));
  EXPECT_THAT(text, HasSubstr("\"comm\": \"worker\""));
  EXPECT_THAT(text, HasSubstr("\"on_cpu_ns\": 12345"));
  EXPECT_THAT(text, HasSubstr("\"exited\": true"));
  EXPECT_THAT(text, HasSubstr("\"hook\": \"tp_btf\""));
  // Defaults are written out, so every consumer sees every field.
  EXPECT_THAT(text, HasSubstr("\"major_fault_count\": 0"));
  EXPECT_THAT(text, HasSubstr("\"consumer_dropped_frame_count\": 0"));
}

TEST(FrameJson, EscapesStringsThatAreNotUtf8) {
  TestFrame spec;
  spec.threads.push_back(Thread(7, 7, "bad\xff\"name\n", 0));
  const std::string text = Render(spec);
  EXPECT_THAT(text, Not(HasSubstr("\n")));
  EXPECT_TRUE(LooksLikeJson(text)) << text;
  EXPECT_THAT(text, HasSubstr("bad\\u00FF\\\"name\\n")) << text;
}

}  // namespace
}  // namespace perfwire
