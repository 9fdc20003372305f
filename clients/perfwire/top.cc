// `perfwire top`: a full-screen live view of perfwired's frames (ncurses).
// When stdout is not a terminal it prints dump's summary lines instead.

#include <ncurses.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/lib/frame_stream.h"
#include "clients/lib/frame_summary.h"
#include "clients/lib/top_model.h"
#include "clients/lib/wire.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

namespace perfwire {
namespace {

constexpr size_t kHistory = 60;

// Ctrl-C and SIGTERM end the UI loop so the terminal is restored (endwin).
volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire top: %.*s\n", static_cast<int>(message.size()),
               message.data());
}

// Line output for pipes and files: dump's summary of every frame.
int RunLines(const std::string& socket) {
  absl::StatusOr<FrameStream> stream = FrameStream::Connect(socket);
  if (!stream.ok()) {
    PrintError(absl::StrCat("error: ", stream.status().message()));
    return 1;
  }
  for (;;) {
    absl::StatusOr<const fb::Frame*> frame = stream->Next();
    if (!frame.ok()) {
      PrintError(absl::StrCat("stream ended: ", frame.status().message()));
      return 1;
    }
    const std::string text = FormatFrameSummary(**frame, 10);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      return 0;  // reader went away
    }
  }
}

// What the reader thread hands to the UI. Shared (not owned by the UI) so
// the reader, blocked in read(), can outlive it at exit.
struct Shared {
  absl::Mutex mu;
  std::vector<uint8_t> frame ABSL_GUARDED_BY(mu);  // without the prefix
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  std::string status ABSL_GUARDED_BY(mu);  // non-empty: disconnected
};

// Connects, reads frames into `shared`, and on any end of stream reports it
// and retries every second. Runs until the process exits.
void ReadLoop(std::string socket, std::shared_ptr<Shared> shared) {
  for (;;) {
    absl::StatusOr<FrameStream> stream = FrameStream::Connect(socket);
    if (stream.ok()) {
      for (;;) {
        absl::StatusOr<const fb::Frame*> frame = stream->Next();
        if (!frame.ok()) break;
        absl::Span<const uint8_t> m = stream->last_message();
        absl::MutexLock lock(&shared->mu);
        shared->frame.assign(m.begin() + kWirePrefixBytes, m.end());
        ++shared->generation;
        shared->status.clear();
      }
    }
    {
      absl::MutexLock lock(&shared->mu);
      shared->status = "agent disconnected, reconnecting\u2026";
    }
    absl::SleepFor(absl::Seconds(1));
  }
}

// initscr/endwin as RAII.
class Screen {
 public:
  Screen() {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(100);  // getch waits at most 100 ms
    set_escdelay(25);
    if (has_colors()) {
      start_color();
      use_default_colors();
      init_pair(1, COLOR_BLACK, COLOR_CYAN);
      init_pair(2, COLOR_YELLOW, -1);
    }
  }
  ~Screen() { endwin(); }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;
};

struct UiState {
  TopSort sort = TopSort::kCpu;
  std::string filter;
  bool editing_filter = false;
  bool by_process = false;
  bool paused = false;
  bool help = false;
  std::vector<uint8_t> frame;  // the frame shown
  std::deque<double> cpu_history;
  double cpu_history_max = 100;
  std::string status;
};

const char* SortName(TopSort s) {
  switch (s) {
    case TopSort::kCpu:
      return "cpu";
    case TopSort::kSwitches:
      return "switches";
    case TopSort::kFaults:
      return "faults";
    case TopSort::kIo:
      return "io";
  }
  return "";
}

void Put(int y, int x, const std::string& text) {
  if (y >= LINES || x >= COLS) return;
  mvaddnstr(y, x, text.c_str(), COLS - x);
}

std::string OptRate(const std::optional<double>& v) {
  return v.has_value() ? HumanBytes(*v) + "/s" : "-";
}

void DrawHelp() {
  const std::vector<std::string> lines = {
      "perfwire top help",
      "",
      "  c      sort by CPU %",
      "  s      sort by context switches/s",
      "  f      sort by page faults/s",
      "  i      sort by read+write bytes/s",
      "  /      filter by pid/tid (number) or comm (text); Enter applies,",
      "         an empty filter shows all, Esc cancels",
      "  p      toggle process / thread rows",
      "  space  pause / resume",
      "  h ?    toggle this help",
      "  q      quit",
      "",
      "CPU% is of one core. RQ% is run-queue wait (perfwired --contention).",
      "press h to close",
  };
  const int width = 72;
  const int height = static_cast<int>(lines.size()) + 2;
  const int y0 = std::max(0, (LINES - height) / 2);
  const int x0 = std::max(0, (COLS - width) / 2);
  for (int y = 0; y < height && y0 + y < LINES; ++y) {
    Put(y0 + y, x0, std::string(std::min(width, COLS - x0), ' '));
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    Put(y0 + 1 + static_cast<int>(i), x0 + 2, lines[i]);
  }
  // A frame around it.
  if (height <= LINES && width <= COLS) {
    WINDOW* w = subwin(stdscr, height, width, y0, x0);
    if (w != nullptr) {
      box(w, 0, 0);
      delwin(w);
    }
  }
}

void Draw(const UiState& ui) {
  erase();
  int y = 0;
  const fb::Frame* frame =
      ui.frame.empty() ? nullptr : fb::GetFrame(ui.frame.data());
  std::string title = "perfwire top";
  if (frame != nullptr) {
    const TopHeader h = BuildHeader(*frame);
    absl::StrAppend(&title, "  ", h.hostname, "  seq ", h.seq);
  }
  absl::StrAppend(&title, "  sort: ", SortName(ui.sort),
                  "  view: ", ui.by_process ? "processes" : "threads");
  if (!ui.filter.empty()) absl::StrAppend(&title, "  filter: ", ui.filter);
  if (ui.paused) absl::StrAppend(&title, "  [PAUSED]");
  attron(A_BOLD);
  Put(y++, 0, title);
  attroff(A_BOLD);

  std::vector<TopRow> rows;
  if (frame != nullptr) {
    const TopHeader h = BuildHeader(*frame);
    Put(y++, 0,
        absl::StrFormat("CPU %6s [%s]  load %s",
                        h.cpu_busy_percent.has_value()
                            ? absl::StrFormat("%.1f%%", *h.cpu_busy_percent)
                            : std::string("-"),
                        Sparkline(ui.cpu_history, ui.cpu_history_max, kHistory),
                        h.load_1m.has_value()
                            ? absl::StrFormat("%.2f %.2f %.2f", *h.load_1m,
                                              *h.load_5m, *h.load_15m)
                            : std::string("-")));
    Put(y++, 0,
        absl::StrFormat(
            "MEM %s / %s   DISK read %s write %s   NET rx %s tx %s",
            h.memory_used_bytes.has_value()
                ? HumanBytes(static_cast<double>(*h.memory_used_bytes))
                : std::string("-"),
            h.memory_total_bytes.has_value()
                ? HumanBytes(static_cast<double>(*h.memory_total_bytes))
                : std::string("-"),
            OptRate(h.disk_read_bytes_per_sec),
            OptRate(h.disk_write_bytes_per_sec),
            OptRate(h.net_receive_bytes_per_sec),
            OptRate(h.net_transmit_bytes_per_sec)));
    rows = BuildThreadRows(*frame);
    if (ui.by_process) rows = AggregateByProcess(rows);
    rows = FilterRows(std::move(rows), ui.filter);
    SortRows(rows, ui.sort);
  } else {
    y += 2;
  }
  if (!ui.status.empty()) {
    attron(A_BOLD);
    Put(y, 0, ui.status);
    attroff(A_BOLD);
  } else if (frame == nullptr) {
    Put(y, 0, "waiting for the first frame...");
  }
  ++y;
  const bool contention = std::any_of(rows.begin(), rows.end(), [](auto& r) {
    return r.run_queue_wait_percent.has_value();
  });
  std::string header = absl::StrFormat(
      "%8s %8s %-16s %6s %9s %9s %9s %9s", ui.by_process ? "THREADS" : "TID",
      "PID", "COMM", "CPU%", "SWITCH/s", "FAULT/s", "READ/s", "WRITE/s");
  if (contention)
    absl::StrAppend(&header, absl::StrFormat(" %5s %-12s", "RQ%", "VERDICT"));
  if (has_colors()) attron(COLOR_PAIR(1));
  Put(y, 0,
      header + std::string(std::max(0, COLS - static_cast<int>(header.size())),
                           ' '));
  if (has_colors()) attroff(COLOR_PAIR(1));
  ++y;
  for (const TopRow& r : rows) {
    if (y >= LINES - 1) break;
    std::string line = absl::StrFormat(
        "%8d %8u %-16s %6.1f %9.0f %9.0f %9s %9s",
        ui.by_process ? r.thread_count : static_cast<int>(r.tid), r.pid,
        r.comm.substr(0, 16), r.cpu_percent, r.switch_per_sec, r.fault_per_sec,
        HumanBytes(r.read_bytes_per_sec), HumanBytes(r.write_bytes_per_sec));
    if (contention) {
      absl::StrAppend(
          &line, absl::StrFormat(
                     " %5s %-12s",
                     r.run_queue_wait_percent.has_value()
                         ? absl::StrFormat("%.1f", *r.run_queue_wait_percent)
                         : std::string("-"),
                     r.verdict));
    }
    Put(y++, 0, line);
  }
  const std::string footer =
      ui.editing_filter
          ? absl::StrCat("filter (pid or comm, Enter applies): ", ui.filter)
          : "c cpu  s switches  f faults  i io  / filter  p process/thread  "
            "space pause  h help  q quit";
  attron(A_REVERSE);
  Put(LINES - 1, 0, footer);
  attroff(A_REVERSE);
  if (ui.help) DrawHelp();
  refresh();
}

// Applies one key; returns false to quit.
bool HandleKey(int key, UiState& ui, std::string& saved_filter) {
  if (ui.editing_filter) {
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
      ui.editing_filter = false;
    } else if (key == 27) {  // Esc
      ui.filter = saved_filter;
      ui.editing_filter = false;
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
      if (!ui.filter.empty()) ui.filter.pop_back();
    } else if (key >= 32 && key < 127) {
      ui.filter += static_cast<char>(key);
    }
    return true;
  }
  switch (key) {
    case 'q':
    case 'Q':
      return false;
    case 'c':
      ui.sort = TopSort::kCpu;
      break;
    case 's':
      ui.sort = TopSort::kSwitches;
      break;
    case 'f':
      ui.sort = TopSort::kFaults;
      break;
    case 'i':
      ui.sort = TopSort::kIo;
      break;
    case '/':
      saved_filter = ui.filter;
      ui.filter.clear();
      ui.editing_filter = true;
      break;
    case 'p':
      ui.by_process = !ui.by_process;
      break;
    case ' ':
      ui.paused = !ui.paused;
      break;
    case 'h':
    case '?':
      ui.help = !ui.help;
      break;
    case 27:
      ui.help = false;
      break;
    default:
      break;
  }
  return true;
}

void TakeFrame(std::vector<uint8_t> bytes, UiState& ui) {
  ui.frame = std::move(bytes);
  const fb::Frame* frame = fb::GetFrame(ui.frame.data());
  const TopHeader h = BuildHeader(*frame);
  double sample = 0;
  if (h.cpu_busy_percent.has_value()) {
    sample = *h.cpu_busy_percent;
    ui.cpu_history_max = 100;
  } else {
    // No host CPU section: the threads' CPU in cores x 100.
    for (const TopRow& r : BuildThreadRows(*frame)) sample += r.cpu_percent;
    ui.cpu_history_max = std::max(ui.cpu_history_max, sample);
  }
  ui.cpu_history.push_back(sample);
  while (ui.cpu_history.size() > kHistory) ui.cpu_history.pop_front();
}

int RunTop(const std::vector<char*>& args) {
  if (!args.empty()) {
    PrintError(absl::StrCat("unexpected argument '", args[0],
                            "' (see perfwire top --help)"));
    return 2;
  }
  const std::string socket = absl::GetFlag(FLAGS_socket);
  if (!isatty(STDOUT_FILENO)) return RunLines(socket);

  auto shared = std::make_shared<Shared>();
  std::thread(ReadLoop, socket, shared).detach();

  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Screen screen;
  UiState ui;
  std::string saved_filter;
  uint64_t seen = 0;
  bool dirty = true;
  while (!g_stop) {
    {
      absl::MutexLock lock(&shared->mu);
      if (shared->status != ui.status) {
        ui.status = shared->status;
        dirty = true;
      }
      if (shared->generation != seen && !ui.paused) {
        seen = shared->generation;
        TakeFrame(shared->frame, ui);
        dirty = true;
      }
    }
    if (dirty) Draw(ui);
    dirty = false;
    const int key = getch();
    if (key == ERR) continue;
    dirty = true;
    if (key == KEY_RESIZE) continue;  // ncurses updated LINES/COLS
    if (!HandleKey(key, ui, saved_filter)) break;
  }
  return 0;
}

}  // namespace

const Command kTopCommand = {
    .name = "top",
    .summary = "full-screen live view of threads and host (ncurses)",
    .usage =
        "Usage: perfwire top [--socket=PATH]\n"
        "\n"
        "Shows perfwired's frames full screen, refreshed as each frame\n"
        "arrives: host CPU busy % with a 60-sample sparkline, load, memory,\n"
        "disk and network rates (when the agent sends those sections), and a\n"
        "table of threads: tid, pid, comm, CPU% of one core, context\n"
        "switches/s, page faults/s, read and write bytes/s, plus run-queue\n"
        "wait % and a contention verdict when perfwired runs --contention.\n"
        "Keys: c/s/f/i sort by CPU/switches/faults/IO, / filter by pid or\n"
        "comm, p process/thread rows, space pause, h help, q quit.\n"
        "When the stream ends it says so and reconnects every second.\n"
        "When stdout is not a terminal, prints `perfwire dump` summaries.\n"
        "Works on recordings too: `perfwire replay FILE --serve S` then\n"
        "`perfwire top --socket S`.",
    .flags = {"socket"},
    .run = RunTop,
};

}  // namespace perfwire
