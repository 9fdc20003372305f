#include "agent/threads/proc_thread_reader.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"

namespace perfwire {
namespace {

// Checks that `content` is one non-empty, newline-terminated line.
absl::Status CheckOneLine(absl::string_view file, absl::string_view content) {
  if (content.empty()) return MalformedFile(file, 0, "empty");
  if (absl::Status s = CheckNotTruncated(file, content); !s.ok()) return s;
  if (content.find('\n') != content.size() - 1) {
    return MalformedFile(file, 2, "more than one line");
  }
  return absl::OkStatus();
}

// Finds the `key:` line among the complete lines of a status/io style file
// and parses its value (after blanks) as a uint64.
absl::StatusOr<uint64_t> KeyedValue(absl::string_view file,
                                    absl::string_view content,
                                    absl::string_view key) {
  if (content.empty()) return MalformedFile(file, 0, "empty");
  LineSplitter lines(content);
  absl::string_view line;
  while (lines.Next(line) && lines.complete()) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key ||
        line[key.size()] != ':') {
      continue;
    }
    FieldSplitter f(line.substr(key.size() + 1));
    absl::string_view value;
    uint64_t v = 0;
    if (f.Next(value) && ParseU64(value, v) && !f.Next(value)) return v;
    return MalformedFile(file, lines.line_number(),
                         absl::StrCat(key, " is not a number: ",
                                      Excerpt(absl::StripLeadingAsciiWhitespace(
                                          line.substr(key.size() + 1)))));
  }
  const bool truncated = content.back() != '\n';
  return MalformedFile(
      file, 0,
      absl::StrCat(truncated ? "truncated before " : "no ", key, " line"));
}

}  // namespace

absl::StatusOr<ProcStatFields> ParseTaskStat(absl::string_view content) {
  constexpr absl::string_view kFile = "stat";
  if (absl::Status s = CheckOneLine(kFile, content); !s.ok()) return s;
  const size_t open = content.find('(');
  const size_t close = content.rfind(')');
  uint64_t pid = 0;
  if (open == absl::string_view::npos || close == absl::string_view::npos ||
      close < open || open < 2 || content[open - 1] != ' ' ||
      !ParseU64(content.substr(0, open - 1), pid)) {
    return MalformedFile(
        kFile, 0, absl::StrCat("not '<pid> (<comm>) ...': ", Excerpt(content)));
  }
  // After "(comm)" come " <field 3> <field 4> ...\n".
  absl::string_view rest = content.substr(close + 1);
  rest.remove_suffix(1);  // '\n'
  if (rest.empty() || rest[0] != ' ') {
    return MalformedFile(kFile, 0, "no fields after comm");
  }
  ProcStatFields out;
  struct Wanted {
    int field;
    uint64_t* dest;
  };
  const Wanted wanted[] = {
      {10, &out.min_flt}, {12, &out.maj_flt}, {22, &out.start_time_ticks}};
  FieldSplitter f(rest);
  absl::string_view value;
  int field = 2;
  for (const Wanted& w : wanted) {
    while (field < w.field) {
      if (!f.Next(value)) {
        return MalformedFile(
            kFile, 0,
            absl::StrCat("only ", field, " fields, need ", wanted[2].field));
      }
      ++field;
    }
    if (!ParseU64(value, *w.dest)) {
      return MalformedFile(kFile, 0,
                           absl::StrCat("field ", w.field,
                                        " is not a number: ", Excerpt(value)));
    }
  }
  out.comm = std::string(content.substr(open + 1, close - open - 1));
  return out;
}

absl::StatusOr<ProcStatusFields> ParseTaskStatus(absl::string_view content) {
  constexpr absl::string_view kFile = "status";
  absl::StatusOr<uint64_t> nvcsw =
      KeyedValue(kFile, content, "voluntary_ctxt_switches");
  if (!nvcsw.ok()) return nvcsw.status();
  absl::StatusOr<uint64_t> nivcsw =
      KeyedValue(kFile, content, "nonvoluntary_ctxt_switches");
  if (!nivcsw.ok()) return nivcsw.status();
  return ProcStatusFields{*nvcsw, *nivcsw};
}

absl::StatusOr<uint64_t> ParseTaskSchedstat(absl::string_view content) {
  constexpr absl::string_view kFile = "schedstat";
  if (absl::Status s = CheckOneLine(kFile, content); !s.ok()) return s;
  FieldSplitter f(content.substr(0, content.size() - 1));
  uint64_t values[3];
  absl::string_view value;
  int count = 0;
  for (; f.Next(value); ++count) {
    if (count == 3) {
      return MalformedFile(
          kFile, 1, absl::StrCat("more than 3 fields: ", Excerpt(content)));
    }
    if (!ParseU64(value, values[count])) {
      return MalformedFile(kFile, 1,
                           absl::StrCat("not a number: ", Excerpt(value)));
    }
  }
  if (count != 3) {
    return MalformedFile(
        kFile, 1, absl::StrCat(count, " fields, want 3: ", Excerpt(content)));
  }
  return values[0];
}

absl::StatusOr<ProcIoFields> ParseTaskIo(absl::string_view content) {
  constexpr absl::string_view kFile = "io";
  absl::StatusOr<uint64_t> rchar = KeyedValue(kFile, content, "rchar");
  if (!rchar.ok()) return rchar.status();
  absl::StatusOr<uint64_t> wchar = KeyedValue(kFile, content, "wchar");
  if (!wchar.ok()) return wchar.status();
  return ProcIoFields{*rchar, *wchar};
}

absl::StatusOr<std::vector<uint32_t>> ProcThreadReader::ListProcesses() const {
  return fs_.ListIds(fs_.proc_root());
}

absl::StatusOr<std::vector<uint32_t>> ProcThreadReader::ListThreads(
    uint32_t pid) const {
  return fs_.ListIds(absl::StrCat(fs_.proc_root(), "/", pid, "/task"));
}

template <typename Parse>
auto ProcThreadReader::ReadAndParse(const std::string& dir,
                                    absl::string_view name, Parse parse)
    -> decltype(parse(absl::string_view())) {
  path_.assign(dir);
  path_.append(name.data(), name.size());
  if (absl::Status s = fs_.Read(path_, buf_); !s.ok()) return s;
  auto parsed = parse(absl::string_view(buf_));
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(dir, parsed.status().message()));
  }
  return parsed;
}

absl::StatusOr<ProcThreadSample> ProcThreadReader::Read(uint32_t pid,
                                                        uint32_t tid) {
  const std::string dir =
      absl::StrCat(fs_.proc_root(), "/", pid, "/task/", tid, "/");
  absl::StatusOr<ProcStatFields> stat =
      ReadAndParse(dir, "stat", ParseTaskStat);
  if (!stat.ok()) return stat.status();
  absl::StatusOr<ProcStatusFields> status =
      ReadAndParse(dir, "status", ParseTaskStatus);
  if (!status.ok()) return status.status();
  absl::StatusOr<uint64_t> on_cpu =
      ReadAndParse(dir, "schedstat", ParseTaskSchedstat);
  if (!on_cpu.ok()) return on_cpu.status();
  absl::StatusOr<ProcIoFields> io = ReadAndParse(dir, "io", ParseTaskIo);
  // io may be denied (ptrace rights) or absent (no task IO accounting).
  if (!io.ok() && !absl::IsPermissionDenied(io.status()) &&
      !absl::IsNotFound(io.status())) {
    return io.status();
  }

  ProcThreadSample sample;
  sample.tid = tid;
  sample.pid = pid;
  sample.comm = std::move(stat->comm);
  sample.start_time_ticks = stat->start_time_ticks;
  sample.on_cpu_ns = *on_cpu;
  sample.nvcsw = status->nvcsw;
  sample.nivcsw = status->nivcsw;
  sample.min_flt = stat->min_flt;
  sample.maj_flt = stat->maj_flt;
  if (io.ok()) {
    sample.has_io = true;
    sample.rchar = io->rchar;
    sample.wchar = io->wchar;
  }
  return sample;
}

absl::StatusOr<KeptFile> ProcThreadReader::OpenSchedstat(uint32_t pid,
                                                         uint32_t tid) const {
  return fs_.Keep(
      absl::StrCat(fs_.proc_root(), "/", pid, "/task/", tid, "/schedstat"));
}

absl::StatusOr<uint64_t> ProcThreadReader::ReadOnCpuNs(
    const KeptFile& schedstat) {
  if (absl::Status s = schedstat.Reread(buf_); !s.ok()) return s;
  absl::StatusOr<uint64_t> on_cpu = ParseTaskSchedstat(buf_);
  if (!on_cpu.ok()) {
    // "<dir>/schedstat: ...", as Read() names it.
    const std::string& path = schedstat.path();
    return absl::Status(
        on_cpu.status().code(),
        absl::StrCat(absl::string_view(path).substr(0, path.rfind('/') + 1),
                     on_cpu.status().message()));
  }
  return on_cpu;
}

}  // namespace perfwire
