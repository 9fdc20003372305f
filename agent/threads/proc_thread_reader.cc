#include "agent/threads/proc_thread_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"

namespace perfwire {
namespace {

// Parses all of `text` as a decimal uint64; nullopt for anything else.
std::optional<uint64_t> ParseU64(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Quotes at most 32 bytes of `text` for an error message.
std::string Excerpt(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 32)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out + (text.size() > 32 ? "...'" : "'");
}

absl::Status Malformed(std::string_view file, std::string_view what) {
  return absl::DataLossError(
      absl::StrCat(std::string(file), ": ", std::string(what)));
}

// Checks that `content` is one non-empty, newline-terminated line.
absl::Status CheckOneLine(std::string_view file, std::string_view content) {
  if (content.empty()) return Malformed(file, "empty");
  if (content.back() != '\n') {
    return Malformed(file, "truncated (no end of line)");
  }
  if (content.find('\n') != content.size() - 1) {
    return Malformed(file, "more than one line");
  }
  return absl::OkStatus();
}

// Splits `line` on single spaces.
std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  for (size_t start = 0; start <= line.size();) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Finds the `key:` line among the complete lines of a status/io style file
// and parses its value (after blanks) as a uint64.
absl::StatusOr<uint64_t> KeyedValue(std::string_view file,
                                    std::string_view content,
                                    std::string_view key) {
  if (content.empty()) return Malformed(file, "empty");
  for (size_t start = 0, end;
       (end = content.find('\n', start)) != std::string_view::npos;
       start = end + 1) {
    std::string_view line = content.substr(start, end - start);
    if (line.size() <= key.size() || line.substr(0, key.size()) != key ||
        line[key.size()] != ':') {
      continue;
    }
    std::string_view value = line.substr(key.size() + 1);
    value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
    if (auto v = ParseU64(value)) return *v;
    return Malformed(file, absl::StrCat(std::string(key),
                                        " is not a number: ", Excerpt(value)));
  }
  const bool truncated = content.back() != '\n';
  return Malformed(file, absl::StrCat(truncated ? "truncated before " : "no ",
                                      std::string(key), " line"));
}

// Reads a whole (proc) file. ENOENT/ESRCH mean the task is gone: NotFound.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string content;
  char buf[4096];
  for (ssize_t n = 0; fd.valid();) {
    n = read(fd.get(), buf, sizeof(buf));
    if (n == 0) return content;
    if (n > 0) {
      content.append(buf, static_cast<size_t>(n));
    } else if (errno != EINTR) {
      break;
    }
  }
  const int err = errno;
  if (err == ENOENT || err == ESRCH) {
    return absl::NotFoundError(absl::StrCat(path, ": task is gone"));
  }
  return absl::ErrnoToStatus(err, path);
}

}  // namespace

absl::StatusOr<ProcStatFields> ParseProcStat(std::string_view content) {
  constexpr std::string_view kFile = "stat";
  if (absl::Status s = CheckOneLine(kFile, content); !s.ok()) return s;
  const size_t open = content.find('(');
  const size_t close = content.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close < open || open < 2 || content[open - 1] != ' ' ||
      !ParseU64(content.substr(0, open - 1))) {
    return Malformed(
        kFile, absl::StrCat("not '<pid> (<comm>) ...': ", Excerpt(content)));
  }
  // After "(comm)" come " <field 3> <field 4> ...\n".
  std::string_view rest = content.substr(close + 1);
  rest.remove_suffix(1);  // '\n'
  if (rest.empty() || rest[0] != ' ') {
    return Malformed(kFile, "no fields after comm");
  }
  const std::vector<std::string_view> fields = SplitSpaces(rest.substr(1));
  constexpr size_t kMinFlt = 10 - 3, kMajFlt = 12 - 3;
  if (fields.size() <= kMajFlt) {
    return Malformed(kFile, absl::StrCat("only ", fields.size() + 2,
                                         " fields, need at least 12"));
  }
  ProcStatFields out;
  out.comm = std::string(content.substr(open + 1, close - open - 1));
  for (auto [index, dest] :
       {std::pair{kMinFlt, &out.min_flt}, std::pair{kMajFlt, &out.maj_flt}}) {
    std::optional<uint64_t> v = ParseU64(fields[index]);
    if (!v) {
      return Malformed(
          kFile, absl::StrCat("field ", index + 3,
                              " is not a number: ", Excerpt(fields[index])));
    }
    *dest = *v;
  }
  return out;
}

absl::StatusOr<ProcStatusFields> ParseProcStatus(std::string_view content) {
  constexpr std::string_view kFile = "status";
  absl::StatusOr<uint64_t> nvcsw =
      KeyedValue(kFile, content, "voluntary_ctxt_switches");
  if (!nvcsw.ok()) return nvcsw.status();
  absl::StatusOr<uint64_t> nivcsw =
      KeyedValue(kFile, content, "nonvoluntary_ctxt_switches");
  if (!nivcsw.ok()) return nivcsw.status();
  return ProcStatusFields{*nvcsw, *nivcsw};
}

absl::StatusOr<uint64_t> ParseProcSchedstat(std::string_view content) {
  constexpr std::string_view kFile = "schedstat";
  if (absl::Status s = CheckOneLine(kFile, content); !s.ok()) return s;
  const std::vector<std::string_view> fields =
      SplitSpaces(content.substr(0, content.size() - 1));
  if (fields.size() != 3) {
    return Malformed(
        kFile,
        absl::StrCat(fields.size(), " fields, want 3: ", Excerpt(content)));
  }
  for (std::string_view f : fields) {
    if (!ParseU64(f)) {
      return Malformed(kFile, absl::StrCat("not a number: ", Excerpt(f)));
    }
  }
  return *ParseU64(fields[0]);
}

absl::StatusOr<ProcIoFields> ParseProcIo(std::string_view content) {
  constexpr std::string_view kFile = "io";
  absl::StatusOr<uint64_t> rchar = KeyedValue(kFile, content, "rchar");
  if (!rchar.ok()) return rchar.status();
  absl::StatusOr<uint64_t> wchar = KeyedValue(kFile, content, "wchar");
  if (!wchar.ok()) return wchar.status();
  return ProcIoFields{*rchar, *wchar};
}

absl::StatusOr<std::vector<uint32_t>> ListProcThreads(
    std::string_view proc_root, uint32_t pid) {
  const std::string path =
      absl::StrCat(std::string(proc_root), "/", pid, "/task");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path.c_str()), &closedir);
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ESRCH) {
      return absl::NotFoundError(absl::StrCat(path, ": process is gone"));
    }
    return absl::ErrnoToStatus(errno, path);
  }
  std::vector<uint32_t> tids;
  while (const dirent* entry = readdir(dir.get())) {
    std::optional<uint64_t> tid = ParseU64(entry->d_name);
    if (tid && *tid > 0 && *tid <= UINT32_MAX) {
      tids.push_back(static_cast<uint32_t>(*tid));
    }
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

absl::StatusOr<ProcThreadSample> ReadProcThread(std::string_view proc_root,
                                                uint32_t pid, uint32_t tid) {
  const std::string dir =
      absl::StrCat(std::string(proc_root), "/", pid, "/task/", tid, "/");
  // Reads `name` and parses it; parse errors get the directory prepended.
  auto read_file = [&dir](std::string_view name,
                          auto parse) -> decltype(parse(std::string_view())) {
    absl::StatusOr<std::string> content =
        ReadWholeFile(absl::StrCat(dir, std::string(name)));
    if (!content.ok()) return content.status();
    auto parsed = parse(std::string_view(*content));
    if (!parsed.ok()) {
      return absl::Status(parsed.status().code(),
                          absl::StrCat(dir, parsed.status().message()));
    }
    return parsed;
  };
  absl::StatusOr<ProcStatFields> stat = read_file("stat", ParseProcStat);
  if (!stat.ok()) return stat.status();
  absl::StatusOr<ProcStatusFields> status =
      read_file("status", ParseProcStatus);
  if (!status.ok()) return status.status();
  absl::StatusOr<uint64_t> on_cpu = read_file("schedstat", ParseProcSchedstat);
  if (!on_cpu.ok()) return on_cpu.status();
  absl::StatusOr<ProcIoFields> io = read_file("io", ParseProcIo);
  if (!io.ok() && !absl::IsPermissionDenied(io.status())) return io.status();

  ProcThreadSample sample;
  sample.tid = tid;
  sample.pid = pid;
  sample.comm = std::move(stat->comm);
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

absl::StatusOr<UniqueFd> OpenProcThreadSchedstat(std::string_view proc_root,
                                                 uint32_t pid, uint32_t tid) {
  const std::string path = absl::StrCat(std::string(proc_root), "/", pid,
                                        "/task/", tid, "/schedstat");
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) return fd;
  if (errno == ENOENT || errno == ESRCH) {
    return absl::NotFoundError(absl::StrCat(path, ": task is gone"));
  }
  return absl::ErrnoToStatus(errno, path);
}

absl::StatusOr<uint64_t> ReadProcThreadOnCpuNs(const UniqueFd& schedstat) {
  char buf[128];
  ssize_t n;
  do {
    n = pread(schedstat.get(), buf, sizeof(buf) - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ESRCH) return absl::NotFoundError("schedstat: task is gone");
    return absl::ErrnoToStatus(errno, "schedstat");
  }
  return ParseProcSchedstat(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace perfwire
