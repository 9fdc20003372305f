#include "clients/lib/frame_json.h"

#include <limits>
#include <string>
#include <vector>

#include "clients/lib/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/python_parse.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::kStrictJsonLines;
using ::perfwire::testing::PythonResult;
using ::perfwire::testing::RunPython;
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
  EXPECT_THAT(text, HasSubstr("{\"schema_version\":"));
  EXPECT_THAT(text, HasSubstr("\"seq\":42"));
  EXPECT_THAT(text, HasSubstr("\"tid\":101"));
  EXPECT_THAT(text, HasSubstr("\"comm\":\"worker\""));
  EXPECT_THAT(text, HasSubstr("\"on_cpu_ns\":12345"));
  EXPECT_THAT(text, HasSubstr("\"exited\":true"));
  EXPECT_THAT(text, HasSubstr("\"hook\":\"tp_btf\""));
  // Defaults are written out, so every consumer sees every field.
  EXPECT_THAT(text, HasSubstr("\"major_fault_count\":0"));
  EXPECT_THAT(text, HasSubstr("\"consumer_dropped_frame_count\":0"));
  // Absent sections stay absent.
  EXPECT_THAT(text, Not(HasSubstr("\"memory\"")));
}

TEST(FrameJson, HostileThreadNameParsesInPython) {
  TestFrame spec;
  spec.threads.push_back(
      Thread(7, 7, "\xff\xfe=cmd|' /C calc'!A0\n\"\\\x01", 0));
  const std::string text = Render(spec);
  EXPECT_THAT(text, Not(HasSubstr("\n")));
  const PythonResult parsed = RunPython(kStrictJsonLines, text + "\n");
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << text;
  // Each invalid byte became U+FFFD; the rest survives as it was.
  EXPECT_THAT(
      parsed.out,
      HasSubstr(R"("comm": "\ufffd\ufffd=cmd|' /C calc'!A0\n\"\\\u0001")"))
      << parsed.out;
}

// App metrics carry doubles straight from the app socket: the JSON must
// round-trip them exactly and never print inf/nan tokens.
TEST(FrameJson, DoublesRoundTripAndNonFiniteIsNull) {
  flatbuffers::FlatBufferBuilder fbb;
  const double values[] = {1.5e-13,
                           0.30000000000000004,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           123456789012345678.0};
  std::vector<flatbuffers::Offset<fb::AppSeries>> series;
  for (double v : values) {
    auto name = fbb.CreateString("g\xff");
    fb::AppSeriesBuilder b(fbb);
    b.add_name(name);
    b.add_type(fb::AppMetricType::Gauge);
    b.add_value(v);
    series.push_back(b.Finish());
  }
  auto app = fbb.CreateVector(series);
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(18446744073709551615ull);
  frame.add_app_metrics(app);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  absl::StatusOr<FrameJson> json = FrameJson::Create();
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<std::string> text =
      json->ToJson(fbb.GetBufferPointer() + kWirePrefixBytes);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, Not(HasSubstr("inf")));
  EXPECT_THAT(*text, Not(HasSubstr("nan")));
  EXPECT_THAT(*text, HasSubstr("\"type\":\"Gauge\""));  // enums by name
  const PythonResult parsed = RunPython(std::string(kStrictJsonLines) + R"(
    frame = json.loads(line)
    print(frame['seq'], [s['value'] for s in frame['app_metrics']])
)",
                                        *text + "\n");
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << *text;
  EXPECT_THAT(parsed.out,
              HasSubstr("18446744073709551615 [1.5e-13, 0.30000000000000004, "
                        "None, None, None, 1.2345678901234568e+17]"))
      << parsed.out;
}

TEST(FrameJson, FloatFieldsPrintTheirShortestDecimal) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores;
  fb::HostCpuTimesBuilder core(fbb);
  core.add_frequency_mhz(2400.1f);
  cores.push_back(core.Finish());
  auto core_vector = fbb.CreateVector(cores);
  fb::HostCpuBuilder cpu(fbb);
  cpu.add_cores(core_vector);
  auto cpu_table = cpu.Finish();
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_cpu(cpu_table);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  absl::StatusOr<FrameJson> json = FrameJson::Create();
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<std::string> text =
      json->ToJson(fbb.GetBufferPointer() + kWirePrefixBytes);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("\"frequency_mhz\":2400.1")) << *text;
}

}  // namespace
}  // namespace perfwire
