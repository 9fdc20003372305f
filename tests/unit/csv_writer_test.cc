#include "clients/lib/csv_writer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::Thread;

// A small RFC 4180 parser for the checks below.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        rows.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        rows.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

TEST(CsvWriterTest, Escapes) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvRow({"a", "b,c", ""}), "a,\"b,c\",\n");
}

TEST(CsvWriterTest, Rfc3339) {
  EXPECT_EQ(Rfc3339Utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339Utc(1'700'000'000'123'456'789ull),
            "2023-11-14T22:13:20.123Z");
}

TEST(CsvWriterTest, HostRowMatchesHeaderAndLeavesAbsentEmpty) {
  TestFrame spec;
  spec.seq = 7;
  spec.threads = {Thread(10, 10, "main", 500'000'000),
                  Thread(11, 10, "a,\"b\"", 250'000'000)};
  const auto buffer = BuildFrame(spec);
  const fb::Frame* frame = fb::GetSizePrefixedFrame(buffer->data());
  const std::vector<std::string> header = HostCsvHeader();
  const std::vector<std::string> row = HostCsvRow(*frame);
  ASSERT_EQ(header.size(), row.size());
  const auto col = [&](const std::string& name) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return row[i];
    }
    ADD_FAILURE() << "no column " << name;
    return std::string();
  };
  EXPECT_EQ(col("seq"), "7");
  EXPECT_EQ(col("interval_s"), "1.000000");
  EXPECT_EQ(col("cpu_user_percent"), "");  // no cpu section
  EXPECT_EQ(col("memory_used_bytes"), "");
  EXPECT_EQ(col("thread_row_count"), "2");
  EXPECT_EQ(col("threads_cpu_percent"), "75.000");
}

TEST(CsvWriterTest, ThreadRowsParseBack) {
  TestFrame spec;
  spec.seq = 3;
  spec.threads = {Thread(10, 10, "main", 500'000'000),
                  Thread(11, 10, "a,\"b\"\nc", 250'000'000)};
  const auto buffer = BuildFrame(spec);
  const fb::Frame* frame = fb::GetSizePrefixedFrame(buffer->data());
  std::string text = CsvRow(ThreadCsvHeader());
  for (const auto& row : ThreadCsvRows(*frame)) text += CsvRow(row);
  const auto rows = ParseCsv(text);
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) EXPECT_EQ(row.size(), ThreadCsvHeader().size());
  EXPECT_EQ(rows[0][2], "tid");
  EXPECT_EQ(rows[2][2], "11");
  EXPECT_EQ(rows[2][4], "a,\"b\"\nc");
  EXPECT_EQ(rows[2][8], "25.000");
}

}  // namespace
}  // namespace perfwire
