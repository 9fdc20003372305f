#include "clients/lib/csv_writer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/host_counters_frame.h"
#include "tests/unit/python_parse.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::HostCountersFrame;
using ::perfwire::testing::HostCountersSpec;
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
  // A control character neutralises the cell; the line break is quoted.
  EXPECT_EQ(CsvEscape("two\nlines"), "\"'two\nlines\"");
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
  const std::vector<std::string> row = HostCsvRow(nullptr, *frame);
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
  EXPECT_EQ(col("hostname"), "testhost");
  EXPECT_EQ(col("threads_cpu_percent"), "");  // no cpu section: CPUs unknown
  EXPECT_EQ(col("threads_run_queue_wait_ns"), "");  // no contention section
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
  EXPECT_EQ(rows[0][2], "hostname");
  EXPECT_EQ(rows[0][3], "tid");
  EXPECT_EQ(rows[2][2], "testhost");
  EXPECT_EQ(rows[2][3], "11");
  EXPECT_EQ(rows[2][5], "'a,\"b\"\nc");
  EXPECT_EQ(rows[0][9], "cpu_core_percent");
  EXPECT_EQ(rows[2][9], "25.000");
  EXPECT_EQ(rows[2].back(), "");  // no contention section
}

TEST(CsvWriterTest, FormulaCellsAreNeutralised) {
  EXPECT_EQ(CsvEscape("=1+1"), "'=1+1");
  EXPECT_EQ(CsvEscape("+cmd"), "'+cmd");
  EXPECT_EQ(CsvEscape("-2+3"), "'-2+3");
  EXPECT_EQ(CsvEscape("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvEscape("\tx"), "'\tx");
  EXPECT_EQ(CsvEscape("\rx"), "\"'\rx\"");
  // Numbers stay numbers.
  EXPECT_EQ(CsvEscape("-7"), "-7");
  EXPECT_EQ(CsvEscape("-0.250"), "-0.250");
  EXPECT_EQ(CsvEscape("+1e3"), "+1e3");
  EXPECT_EQ(CsvEscape("-inf"), "'-inf");
  // Bytes that are not UTF-8 become U+FFFD.
  EXPECT_EQ(CsvEscape("a\xff"
                      "b"),
            "a\xef\xbf\xbd"
            "b");
}

// A frame as an agent with --contention on a 2-CPU host sends it.
flatbuffers::DetachedBuffer HostileFrame() {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::Thread>> threads = {
      fb::CreateThreadDirect(fbb, 21, 20, "\xff\xfe=cmd|' /C calc'!A0\n\"", 0,
                             false, 1'000'000'000),
      fb::CreateThreadDirect(fbb, 22, 20, "@x", 0, false, 500'000'000)};
  auto thread_vector = fbb.CreateVector(threads);
  std::vector<flatbuffers::Offset<fb::ThreadContention>> contention;
  {
    fb::ThreadContentionBuilder c(fbb);
    c.add_tid(21);
    c.add_pid(20);
    c.add_run_queue_wait_ns(7000);
    c.add_futex_sleep_ns(300);
    contention.push_back(c.Finish());
  }
  auto contention_vector = fbb.CreateVector(contention);
  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores = {
      fb::CreateHostCpuTimes(fbb), fb::CreateHostCpuTimes(fbb)};
  auto core_vector = fbb.CreateVector(cores);
  fb::HostCpuBuilder cpu(fbb);
  cpu.add_cores(core_vector);
  auto cpu_table = cpu.Finish();
  auto hostname = fbb.CreateString("-host\xc3");
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(5);
  frame.add_interval_ns(1'000'000'000);
  frame.add_hostname(hostname);
  frame.add_threads(thread_vector);
  frame.add_thread_contention(contention_vector);
  frame.add_cpu(cpu_table);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  return fbb.Release();
}

// Python's csv module reads back exactly what a spreadsheet may safely show.
TEST(CsvWriterTest, HostileNamesParseInPythonCsv) {
  const auto buffer = HostileFrame();
  const fb::Frame* frame = fb::GetSizePrefixedFrame(buffer.data());
  std::string threads = CsvRow(ThreadCsvHeader());
  for (const auto& row : ThreadCsvRows(*frame)) threads += CsvRow(row);
  const std::string script = R"(
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8', errors='strict') as f:
    rows = list(csv.DictReader(f))
for r in rows:
    print(ascii([r['hostname'], r['comm'], r['cpu_core_percent'],
                 r['run_queue_wait_ns'], r['futex_sleep_ns']]))
)";
  const testing::PythonResult parsed = testing::RunPython(script, threads);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << threads;
  EXPECT_EQ(
      parsed.out,
      "[\"'-host\\ufffd\", '\\'\\ufffd\\ufffd=cmd|\\' /C calc\\'!A0\\n\"', "
      "'100.000', '7000', '300']\n"
      "[\"'-host\\ufffd\", \"'@x\", '50.000', '0', '0']\n")
      << threads;
}

TEST(CsvWriterTest, HostRowSpeaksOfAllCpusAndSumsContention) {
  const auto buffer = HostileFrame();
  const fb::Frame* frame = fb::GetSizePrefixedFrame(buffer.data());
  const std::string text =
      CsvRow(HostCsvHeader()) + CsvRow(HostCsvRow(nullptr, *frame));
  const std::string script = R"(
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    r = next(csv.DictReader(f))
print(r['interval_s'], r['threads_cpu_percent'], r['threads_run_queue_wait_ns'],
      r['threads_futex_sleep_ns'], r['threads_io_sleep_ns'], ascii(r['hostname']))
)";
  const testing::PythonResult parsed = testing::RunPython(script, text);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << text;
  // 1.5 s of CPU in 1 s on 2 CPUs: 75% of all CPUs, as cpu_*_percent.
  EXPECT_EQ(parsed.out, "1.000000 75.000 7000 300 0 \"'-host\\ufffd\"\n");
}

// The host columns of a stream read by Python's csv module: rates and shares
// come from the cumulative counters of each frame and the one before it
// (host_counters_frame.h: the agent's own rate fields hold other values);
// the first row has none (empty, not 0), as a frame of an agent without the
// counters.
TEST(CsvWriterTest, HostRatesComeFromTheFrameBefore) {
  HostCountersSpec spec;
  spec.seq = 1;
  spec.at_seconds = 100;
  const std::vector<uint8_t> first = HostCountersFrame(spec);
  spec.seq = 2;
  spec.at_seconds = 102;
  const std::vector<uint8_t> second = HostCountersFrame(spec);
  spec.seq = 3;
  spec.at_seconds = 104;
  spec.cumulative = false;
  const std::vector<uint8_t> old_agent = HostCountersFrame(spec);
  const fb::Frame* a = fb::GetFrame(first.data());
  const fb::Frame* b = fb::GetFrame(second.data());
  const fb::Frame* c = fb::GetFrame(old_agent.data());
  const std::string text =
      CsvRow(HostCsvHeader()) + CsvRow(HostCsvRow(nullptr, *a)) +
      CsvRow(HostCsvRow(a, *b)) + CsvRow(HostCsvRow(b, *c));
  const std::string script = R"(
import csv, sys
names = ['cpu_user_percent', 'cpu_system_percent', 'cpu_idle_percent',
         'cpu_iowait_percent', 'context_switch_per_sec', 'interrupt_per_sec',
         'fork_per_sec', 'page_fault_per_sec', 'major_page_fault_per_sec',
         'page_in_bytes_per_sec', 'page_out_bytes_per_sec',
         'swap_in_page_per_sec', 'swap_out_page_per_sec',
         'psi_cpu_some_percent', 'psi_cpu_full_percent',
         'psi_memory_some_percent', 'psi_io_some_percent',
         'psi_io_full_percent', 'disk_read_bytes_per_sec',
         'disk_write_bytes_per_sec', 'disk_read_op_per_sec',
         'disk_write_op_per_sec', 'network_receive_bytes_per_sec',
         'network_transmit_bytes_per_sec', 'network_receive_packet_per_sec',
         'network_transmit_packet_per_sec', 'load_1m', 'memory_used_bytes']
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    for r in csv.DictReader(f):
        print(r['seq'], ' '.join(repr(r[n]) for n in names))
)";
  const testing::PythonResult parsed = testing::RunPython(script, text);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << text;
  EXPECT_EQ(parsed.out,
            // The first frame: no rates yet; values of the frame itself.
            "1 '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' "
            "'' '' '' '' '' '' '1.500' '2147483648'\n"
            // 70% busy of 2 CPUs: user 60, system 10, idle 30. Disks: vda +
            // vdb (not the partition vda1); network: eth0 (not lo).
            "2 '60.000' '10.000' '30.000' '0.000' '1000.000' '700.000' "
            "'5.000' '300.000' '2.000' '4096.000' '8192.000' '3.000' "
            "'4.000' '10.000' '' '' '1.000' '0.500' '1024.000' '16.000' "
            "'6.000' '2.000' '300.000' '100.000' '3.000' '2.000' '1.500' "
            "'2147483648'\n"
            // An agent without the cumulative counters: empty, not zeros.
            "3 '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' '' "
            "'' '' '' '' '' '' '1.500' '2147483648'\n")
      << text;
}

// A stream that starts over (another host, time going back) has no rates
// for its first row, rather than rates across the two streams.
TEST(CsvWriterTest, NoRatesAcrossStreams) {
  HostCountersSpec spec;
  spec.at_seconds = 100;
  const std::vector<uint8_t> before = HostCountersFrame(spec);
  spec.at_seconds = 50;  // the agent's host rebooted
  const std::vector<uint8_t> rebooted = HostCountersFrame(spec);
  spec.at_seconds = 102;
  spec.hostname = "other";
  const std::vector<uint8_t> other = HostCountersFrame(spec);
  const std::vector<std::string> header = HostCsvHeader();
  const auto cell = [&](const std::vector<std::string>& row,
                        const std::string& name) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return row[i];
    }
    ADD_FAILURE() << "no column " << name;
    return std::string();
  };
  const fb::Frame* a = fb::GetFrame(before.data());
  for (const auto* next : {&rebooted, &other}) {
    const std::vector<std::string> row =
        HostCsvRow(a, *fb::GetFrame(next->data()));
    EXPECT_EQ(cell(row, "cpu_user_percent"), "");
    EXPECT_EQ(cell(row, "disk_read_bytes_per_sec"), "");
    EXPECT_EQ(cell(row, "memory_used_bytes"), "2147483648");
  }
}

}  // namespace
}  // namespace perfwire
