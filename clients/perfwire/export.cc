// `perfwire export <format> [flags]`: dispatches to one function per format.

#include "clients/perfwire/export.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "clients/perfwire/command.h"

namespace perfwire {
namespace {

struct ExportFormat {
  absl::string_view name;
  int (*run)(const std::vector<char*>& args);
};

// Adding a format is one line here.
constexpr ExportFormat kFormats[] = {
    {"csv", &RunExportCsv},
    {"prometheus", &RunExportPrometheus},
};

int RunExport(const std::vector<char*>& args) {
  if (!args.empty()) {
    for (const ExportFormat& format : kFormats) {
      if (format.name == args[0]) {
        return format.run(std::vector<char*>(args.begin() + 1, args.end()));
      }
    }
  }
  std::fprintf(stderr, "perfwire export: %s; formats:",
               args.empty()
                   ? "missing format"
                   : ("unknown format '" + std::string(args[0]) + "'").c_str());
  for (const ExportFormat& format : kFormats) {
    std::fprintf(stderr, " %s", std::string(format.name).c_str());
  }
  std::fprintf(stderr, " (see perfwire export --help)\n");
  return 2;
}

}  // namespace

const Command kExportCommand = {
    .name = "export",
    .summary = "export the stream to other tools: csv, prometheus",
    .usage =
        "Usage: perfwire export csv (--live [--socket=PATH] | FILE) -o "
        "OUT.csv\n"
        "                           [--threads] [--count=N] [--duration=D]\n"
        "       perfwire export prometheus [--listen=127.0.0.1:9464] "
        "[--socket=PATH]\n"
        "                                  [--per_pid] [--threads] "
        "[--max_series=N] [--allow_remote]\n"
        "\n"
        "prometheus: serves /metrics in the Prometheus text format over "
        "HTTP.\n"
        "Host counters are the kernel's cumulative values; per-process "
        "counters are\n"
        "totals since the exporter started, one series per process name "
        "(per pid\n"
        "with --per_pid), per-thread series with --threads; each capped by\n"
        "--max_series. Listens on loopback only unless --allow_remote. See\n"
        "docs/PROMETHEUS.md.\n"
        "\n"
        "csv: one row per interval: RFC 3339 UTC timestamp, seq, interval_s,\n"
        "hostname, then host metrics and agent cost (empty when the agent did "
        "not send\n"
        "that section); with --threads one row per thread per interval.\n"
        "Input is perfwired (--live, until --count, --duration or Ctrl-C) or "
        "a\n"
        "file from `perfwire record`. -o - writes stdout. Cells that a\n"
        "spreadsheet would run as formulas are prefixed with '. Columns:\n"
        "docs/CSV.md.\n"
        "Exit status: 0 when done; 1 on errors (csv --live: also when no "
        "frame\n"
        "arrived within --duration); 2 for bad usage; 3 (csv) when\n"
        "the recording is torn or corrupt (every whole frame before it is\n"
        "written).",
    .flags = {"socket", "listen", "threads", "per_pid", "max_series",
              "allow_remote", "live", "o", "count", "duration"},
    .run = &RunExport,
};

}  // namespace perfwire
