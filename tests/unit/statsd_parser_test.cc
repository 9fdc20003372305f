#include "agent/app_metrics/statsd_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace perfwire {
namespace {

StatsdLine MustParse(std::string_view text) {
  StatsdLine line;
  const char* why = ParseStatsdLine(text, &line);
  EXPECT_EQ(why, nullptr) << text << ": " << (why ? why : "");
  return line;
}

std::string Reason(std::string_view text) {
  StatsdLine line;
  const char* why = ParseStatsdLine(text, &line);
  return why ? why : "ok";
}

TEST(StatsdParser, EveryType) {
  struct Case {
    const char* text;
    AppMetricKind kind;
  } cases[] = {
      {"a:1|c", AppMetricKind::kCounter},
      {"a:1|g", AppMetricKind::kGauge},
      {"a:1|ms", AppMetricKind::kTiming},
      {"a:1|h", AppMetricKind::kHistogram},
      {"a:1|d", AppMetricKind::kDistribution},
      {"a:x|s", AppMetricKind::kSet},
  };
  for (const Case& c : cases) {
    const StatsdLine line = MustParse(c.text);
    EXPECT_EQ(line.kind, c.kind) << c.text;
    EXPECT_EQ(line.name, "a");
    EXPECT_EQ(line.sample_rate, 1.0);
    EXPECT_EQ(AppMetricKindSuffix(c.kind), std::string_view(c.text).substr(4));
  }
}

TEST(StatsdParser, NumbersAndNames) {
  StatsdLine l = MustParse("my.app-1_latency:12.5|ms");
  EXPECT_EQ(l.name, "my.app-1_latency");
  ASSERT_EQ(l.values.size(), 1u);
  EXPECT_DOUBLE_EQ(l.values[0].number, 12.5);
  EXPECT_FALSE(l.values[0].delta);
  EXPECT_DOUBLE_EQ(MustParse("a:-3|c").values[0].number, -3);
  EXPECT_DOUBLE_EQ(MustParse("a:1e3|h").values[0].number, 1000);
  EXPECT_DOUBLE_EQ(MustParse("a:.5|d").values[0].number, 0.5);
}

TEST(StatsdParser, SampleRate) {
  EXPECT_DOUBLE_EQ(MustParse("hits:1|c|@0.1").sample_rate, 0.1);
  EXPECT_DOUBLE_EQ(MustParse("t:3|ms|@0.25|#a:b").sample_rate, 0.25);
  EXPECT_DOUBLE_EQ(MustParse("t:3|ms|#a:b|@1").sample_rate, 1.0);
  EXPECT_EQ(Reason("a:1|c|@0"), "sample rate not in (0, 1]");
  EXPECT_EQ(Reason("a:1|c|@1.5"), "sample rate not in (0, 1]");
  EXPECT_EQ(Reason("a:1|c|@-0.5"), "sample rate not in (0, 1]");
  EXPECT_EQ(Reason("a:1|c|@x"), "sample rate not in (0, 1]");
  EXPECT_EQ(Reason("a:1|c|@0.5|@0.5"), "repeated sample rate");
}

TEST(StatsdParser, GaugeDeltas) {
  StatsdLine l = MustParse("q:+4|g");
  EXPECT_TRUE(l.values[0].delta);
  EXPECT_DOUBLE_EQ(l.values[0].number, 4);
  l = MustParse("q:-2.5|g");
  EXPECT_TRUE(l.values[0].delta);
  EXPECT_DOUBLE_EQ(l.values[0].number, -2.5);
  l = MustParse("q:7|g");
  EXPECT_FALSE(l.values[0].delta);
  // Only gauges have deltas: a signed counter is a plain signed increment.
  l = MustParse("q:-1|c");
  EXPECT_FALSE(l.values[0].delta);
  EXPECT_EQ(Reason("q:+-1|g"), "value is not a finite number");
  EXPECT_EQ(Reason("q:+|g"), "value is not a finite number");
}

TEST(StatsdParser, Tags) {
  StatsdLine l =
      MustParse("req:1|c|#env:prod,region:eu-west-1,canary,url:http://x:8");
  ASSERT_EQ(l.tags.size(), 4u);
  EXPECT_EQ(l.tags[0].key, "env");
  EXPECT_EQ(l.tags[0].value, "prod");
  EXPECT_EQ(l.tags[1].key, "region");
  EXPECT_EQ(l.tags[1].value, "eu-west-1");
  EXPECT_EQ(l.tags[2].key, "canary");
  EXPECT_EQ(l.tags[2].value, "");
  EXPECT_EQ(l.tags[3].key, "url");
  EXPECT_EQ(l.tags[3].value, "http://x:8");
  EXPECT_TRUE(MustParse("a:1|c|#").tags.empty());
  EXPECT_EQ(MustParse("a:1|c|#x,,y").tags.size(), 2u);
  EXPECT_EQ(Reason("a:1|c|#:v"), "empty tag key");
  EXPECT_EQ(Reason("a:1|c|#a\tb"), "bad character in tag");
  EXPECT_EQ(Reason("a:1|c|#a|#b"), "repeated tags");
  std::string many = "a:1|c|#";
  for (int i = 0; i < 33; ++i) many += "t" + std::to_string(i) + ",";
  EXPECT_EQ(Reason(many), "too many tags");
}

TEST(StatsdParser, DogStatsdExtensions) {
  StatsdLine l = MustParse("a:1:2:3.5|d|#x:y|c:abc123|T1656581400");
  ASSERT_EQ(l.values.size(), 3u);
  EXPECT_DOUBLE_EQ(l.values[2].number, 3.5);
  // A set member is taken whole, ':' included.
  EXPECT_EQ(MustParse("users:alice:42|s").set_member, "alice:42");
  EXPECT_EQ(Reason("_e{5,4}:title|text"),
            "events and service checks are not supported");
  EXPECT_EQ(Reason("_sc|name|0"),
            "events and service checks are not supported");
}

// Issue 15.5: tags with spaces are sent by real clients (hot-shots passes
// them through unchanged) and the Datadog agent keeps them.
TEST(StatsdParser, TagsMayContainSpaces) {
  StatsdLine l = MustParse("req:1|c|#team:core infra,slow path");
  ASSERT_EQ(l.tags.size(), 2u);
  EXPECT_EQ(l.tags[0].key, "team");
  EXPECT_EQ(l.tags[0].value, "core infra");
  EXPECT_EQ(l.tags[1].key, "slow path");
  EXPECT_EQ(l.tags[1].value, "");
  EXPECT_EQ(Reason("a b:1|c"), "bad character in name");
}

// Issue 15.5: DogStatsD v1.5 external data (|e:) and v1.6 cardinality
// (|card:), as hot-shots sends them with DD_EXTERNAL_ENV / DD_CARDINALITY,
// used to drop the whole line.
TEST(StatsdParser, DogStatsdOriginFieldsAccepted) {
  StatsdLine l = MustParse(
      "page.views:1|c|@0.5|#env:prod|c:ci-abc|e:it-false,cn-web,pu-123|"
      "card:high|T1656581400");
  EXPECT_EQ(l.name, "page.views");
  EXPECT_DOUBLE_EQ(l.sample_rate, 0.5);
  ASSERT_EQ(l.tags.size(), 1u);
  EXPECT_EQ(l.tags[0].key, "env");
  EXPECT_EQ(MustParse("g:3|g|card:low").values[0].number, 3);
  EXPECT_EQ(MustParse("s:m|s|e:x|#a").set_member, "m");
  EXPECT_EQ(MustParse("t:3|ms|e:").kind, AppMetricKind::kTiming);
}

// As the Datadog agent does, a field of the form `key:value` that perfwire
// does not know is ignored rather than dropping the line; a field that is
// not of that form is still an error.
TEST(StatsdParser, UnknownKeyValueFieldsIgnored) {
  EXPECT_DOUBLE_EQ(MustParse("a:2|c|x:1|#k:v|future:anything").values[0].number,
                   2);
  EXPECT_EQ(MustParse("a:2|c|x:1|#k:v").tags.size(), 1u);
  EXPECT_EQ(Reason("a:1|c|zz"), "unknown field");
  EXPECT_EQ(Reason("a:1|c|:v"), "unknown field");
  EXPECT_EQ(Reason("a:1|c|x y:v"), "unknown field");
}

TEST(StatsdParser, MalformedLinesSayWhy) {
  EXPECT_EQ(Reason("x"), "missing ':' after name");
  EXPECT_EQ(Reason("x:1"), "missing type");
  EXPECT_EQ(Reason("x:1|"), "missing type");
  EXPECT_EQ(Reason(":1|c"), "empty name");
  EXPECT_EQ(Reason("x:|c"), "missing value");
  EXPECT_EQ(Reason("x:1|q"), "unknown type");
  EXPECT_EQ(Reason("x:1|cc"), "unknown type");
  EXPECT_EQ(Reason("x:abc|c"), "value is not a finite number");
  EXPECT_EQ(Reason("x:1 |c"), "value is not a finite number");
  EXPECT_EQ(Reason("x:nan|g"), "value is not a finite number");
  EXPECT_EQ(Reason("x:inf|g"), "value is not a finite number");
  EXPECT_EQ(Reason("x:1e999|g"), "value is not a finite number");
  EXPECT_EQ(Reason("x:1::2|d"), "value is not a finite number");
  EXPECT_EQ(Reason("x:1|c|"), "empty field");
  EXPECT_EQ(Reason("x:1|c||@0.5"), "empty field");
  EXPECT_EQ(Reason("x:1|c|zz"), "unknown field");
  EXPECT_EQ(Reason("a b:1|c"), "bad character in name");
  EXPECT_EQ(Reason(std::string("a\0b:1|c", 7)), "bad character in name");
  EXPECT_EQ(Reason(std::string(201, 'n') + ":1|c"), "name too long");
  EXPECT_EQ(Reason(std::string(200, 'n') + ":1|c"), "ok");
  EXPECT_EQ(Reason(""), "empty line");
}

TEST(StatsdParser, CarriageReturnIgnored) {
  EXPECT_EQ(MustParse("a:1|c\r").kind, AppMetricKind::kCounter);
}

TEST(StatsdParser, SplitsDatagramIntoLines) {
  std::vector<std::string> lines;
  ForEachStatsdLine("a:1|c\nb:2|g\r\n\n\nc:3|ms\n",
                    [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(lines, (std::vector<std::string>{"a:1|c", "b:2|g", "c:3|ms"}));
  lines.clear();
  ForEachStatsdLine("", [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_TRUE(lines.empty());
}

TEST(StatsdParser, DescribeMalformedLineIsSafeAndShort) {
  EXPECT_EQ(DescribeMalformedLine("x", "missing type"),
            "line 'x': missing type");
  EXPECT_EQ(DescribeMalformedLine(std::string("a\x01\xff", 3), "r"),
            "line 'a?"
            "?': r");
  EXPECT_EQ(DescribeMalformedLine(std::string(100, 'z'), "r", 4),
            "line 'zzzz...': r");
}

}  // namespace
}  // namespace perfwire
