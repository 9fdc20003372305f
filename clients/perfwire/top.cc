// `perfwire top`: a full-screen live view of perfwired's frames (ncurses).
// When stdout is not a terminal it prints dump's summary lines instead.

#include <langinfo.h>
#include <ncurses.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cwchar>
#include <deque>
#include <functional>
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
#include "clients/lib/frame_feed.h"
#include "clients/lib/frame_stream.h"
#include "clients/lib/frame_summary.h"
#include "clients/lib/top_model.h"
#include "clients/lib/wire.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

namespace perfwire {
namespace {

// Ctrl-C and SIGTERM end the UI loop so the terminal is restored (endwin).
volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire top: %.*s\n", static_cast<int>(message.size()),
               message.data());
}

// Line output for pipes and files: dump's summary of every frame (the
// sources only when they change, the host CPU share from the second frame).
int RunLines(const std::string& socket) {
  absl::StatusOr<FrameStream> stream = FrameStream::Connect(socket);
  if (!stream.ok()) {
    PrintError(absl::StrCat("error: ", stream.status().message()));
    return 1;
  }
  FrameSummarizer summarizer({.top_threads = 10});
  for (uint64_t frames = 0;; ++frames) {
    absl::StatusOr<const fb::Frame*> frame = stream->Next();
    if (!frame.ok()) {
      PrintError(absl::StrCat(
          "stream ended (",
          StreamLossName(ClassifyLoss(frame.status(), true, frames)),
          "): ", frame.status().message()));
      return 1;
    }
    const std::string text = summarizer.Format(stream->last_message());
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      return 0;  // reader went away
    }
  }
}

// What the reader thread hands to the UI.
struct Shared {
  absl::Mutex mu;
  // Frames (without the prefix) not yet taken by the UI, oldest first; the
  // oldest are dropped beyond kMaxQueuedBytes (a fast replay, a paused UI).
  struct Frame {
    std::vector<uint8_t> bytes;
    bool replayed = false;  // its connection serves a recording
  };
  std::deque<Frame> frames ABSL_GUARDED_BY(mu);
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;  // of `frames`
  std::string status ABSL_GUARDED_BY(mu);  // non-empty: why the stream is lost
  bool ended ABSL_GUARDED_BY(mu) = false;  // a replay reached its end
};
// What a paused (or slow) UI may hold; the reader drops the oldest beyond.
constexpr size_t kMaxQueuedBytes = 64u << 20;

// Reads frames into `shared` with the shared reconnecting reader, on its own
// thread, until destroyed or a replay ends.
class Reader : public FrameSink {
 public:
  Reader(const std::string& socket, Shared* shared)
      : feed_(Options(socket)), shared_(shared) {
    thread_ = std::thread([this] { feed_.Run(*this).IgnoreError(); });
  }
  ~Reader() override {
    feed_.Cancel();
    thread_.join();
  }

  void OnConnected() override { first_ = true; }
  void OnFrame(const fb::Frame& frame,
               absl::Span<const uint8_t> message) override {
    if (first_) {
      timespec mono{};
      clock_gettime(CLOCK_MONOTONIC, &mono);
      replay_ =
          IsReplayStart(frame, absl::Now(),
                        static_cast<uint64_t>(mono.tv_sec) * 1'000'000'000u +
                            static_cast<uint64_t>(mono.tv_nsec));
      first_ = false;
    }
    absl::MutexLock lock(&shared_->mu);
    shared_->frames.push_back(
        {{message.begin() + kWirePrefixBytes, message.end()}, replay_});
    shared_->queued_bytes += shared_->frames.back().bytes.size();
    while (shared_->queued_bytes > kMaxQueuedBytes) {
      shared_->queued_bytes -= shared_->frames.front().bytes.size();
      shared_->frames.pop_front();
    }
    shared_->status.clear();
  }
  bool OnLost(const LossReport& report) override {
    absl::MutexLock lock(&shared_->mu);
    if (replay_ && report.reason == StreamLoss::kAgentGone &&
        report.frames > 0) {
      shared_->ended = true;  // a recording's end: not looped
      return false;
    }
    std::string why(report.status.message());
    if (absl::IsOutOfRange(report.status)) {
      why = report.frames == 0
                ? "perfwired closed the connection before its first frame "
                  "(--max_consumers?)"
                : "perfwired closed the stream";
    }
    shared_->status = absl::StrFormat("%s: %s; reconnecting in %s\u2026",
                                      StreamLossName(report.reason), why,
                                      absl::FormatDuration(report.retry_in));
    return true;
  }

 private:
  static FrameFeed::Options Options(const std::string& socket) {
    FrameFeed::Options options;
    options.socket_path = socket;
    options.max_backoff = absl::Seconds(2);
    return options;
  }

  FrameFeed feed_;
  Shared* shared_;
  bool first_ = true;    // reader thread only
  bool replay_ = false;  // this connection serves a recording
  std::thread thread_;
};

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
  int64_t scroll = 0;  // first table row shown
  size_t page = 1;     // table rows that fit, from the last Draw
  TopModel model;
  std::string status;
  bool ended = false;
  bool unicode = false;  // the terminal's locale is UTF-8
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

int Wcwidth(char32_t c) { return ::wcwidth(static_cast<wchar_t>(c)); }

bool g_unicode = false;

// Writes `text` at (y, x), cut to the screen with an ellipsis.
void Put(int y, int x, const std::string& text) {
  if (y < 0 || y >= LINES || x >= COLS) return;
  const std::string fit =
      FitToColumns(text, static_cast<size_t>(COLS - x), &Wcwidth, g_unicode);
  mvaddstr(y, x, fit.c_str());
}

std::string Opt(const std::optional<double>& v,
                const absl::FormatSpec<double>& format) {
  return v.has_value() ? absl::StrFormat(format, *v) : std::string("-");
}
std::string OptRate(const std::optional<double>& v) {
  return v.has_value() ? HumanBytes(*v) + "/s" : "-";
}
std::string OptBytes(const std::optional<uint64_t>& v) {
  return v.has_value() ? HumanBytes(static_cast<double>(*v)) : "-";
}
std::string OptCount(const std::optional<uint32_t>& v) {
  return v.has_value() ? absl::StrCat(*v) : "-";
}

std::string Spark(const UiState& ui, TopModel::History h, size_t width,
                  double max = 0) {
  const SeriesHistory& history = ui.model.history(h);
  if (max <= 0) max = history.Max();
  return Sparkline(history.Buckets(width), max, ui.unicode);
}

std::string LocalTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", t, absl::LocalTimeZone());
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
      "  arrows scroll one row; PgUp PgDn one page; Home End to the ends",
      "  space  pause / resume",
      "  r      after the end of a replay: play it again",
      "  h ?    toggle this help",
      "  q      quit",
      "",
      "CPU% is of one core. RQ% is run-queue wait (perfwired --contention).",
      "Sparklines span the last 60 s of the stream's own time.",
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
  if (height <= LINES && width <= COLS) {
    WINDOW* w = subwin(stdscr, height, width, y0, x0);
    if (w != nullptr) {
      box(w, 0, 0);
      delwin(w);
    }
  }
}

// The header's lines below the title: host sections with 60 s sparklines.
std::vector<std::string> HeaderLines(const UiState& ui, const TopHeader& h) {
  std::vector<std::string> out;
  const HeaderRates& r = h.rates;
  const double cpu_max = r.cpu_busy_percent.has_value()
                             ? 100
                             : ui.model.history(TopModel::kCpuHistory).Max();
  out.push_back(absl::StrFormat(
      "CPU  %6s %s  load %s", Opt(r.cpu_busy_percent, "%.1f%%"),
      Spark(ui, TopModel::kCpuHistory, 30, cpu_max),
      h.load_1m.has_value() ? absl::StrFormat("%.2f %.2f %.2f", *h.load_1m,
                                              *h.load_5m, *h.load_15m)
                            : std::string("-")));
  out.push_back(absl::StrFormat(
      "TASKS %s processes, %s threads, %s running, %s blocked  "
      "switches %s/s  forks %s/s",
      OptCount(h.process_count), OptCount(h.thread_count),
      OptCount(h.running_task_count), OptCount(h.blocked_task_count),
      Opt(r.context_switch_per_sec, "%.0f"), Opt(r.fork_per_sec, "%.0f")));
  // Per core: as many as fit on two lines, then "+N".
  if (!r.core_busy_percent.empty()) {
    std::string line = "CORE";
    int lines = 0;
    for (size_t i = 0; i < r.core_busy_percent.size(); ++i) {
      const std::string cell =
          absl::StrFormat(" %3d:%5.1f%%", i, r.core_busy_percent[i]);
      if (static_cast<int>(line.size() + cell.size()) > COLS) {
        if (++lines == 2) {
          absl::StrAppend(&line, " +",
                          r.core_busy_percent.size() - i);  // not shown
          break;
        }
        out.push_back(line);
        line = "    ";
      }
      line += cell;
    }
    out.push_back(line);
  } else {
    out.push_back("CORE -");
  }
  out.push_back(absl::StrFormat(
      "MEM  %s / %s %s  SWAP %s / %s  PSI some cpu %s mem %s io %s",
      OptBytes(h.memory_used_bytes), OptBytes(h.memory_total_bytes),
      Spark(ui, TopModel::kMemoryHistory, 20,
            h.memory_total_bytes.has_value()
                ? static_cast<double>(*h.memory_total_bytes)
                : 0),
      OptBytes(h.swap_used_bytes), OptBytes(h.swap_total_bytes),
      Opt(r.cpu_pressure_percent, "%.1f%%"),
      Opt(r.memory_pressure_percent, "%.1f%%"),
      Opt(r.io_pressure_percent, "%.1f%%")));
  out.push_back(
      absl::StrFormat("DISK read %s %s write %s %s  NET rx %s %s tx %s %s",
                      OptRate(r.disk_read_bytes_per_sec),
                      Spark(ui, TopModel::kDiskReadHistory, 12),
                      OptRate(r.disk_write_bytes_per_sec),
                      Spark(ui, TopModel::kDiskWriteHistory, 12),
                      OptRate(r.net_receive_bytes_per_sec),
                      Spark(ui, TopModel::kNetReceiveHistory, 12),
                      OptRate(r.net_transmit_bytes_per_sec),
                      Spark(ui, TopModel::kNetTransmitHistory, 12)));
  std::string app = "APP ";
  if (h.app.empty()) app += " -";
  for (const AppRate& a : h.app) {
    absl::StrAppend(&app, "  ", a.name, " ", a.type, " ",
                    a.unit.empty() ? absl::StrFormat("%.6g", a.value)
                                   : absl::StrFormat("%.1f", a.value),
                    a.unit);
    if (a.mean.has_value()) {
      absl::StrAppend(&app, absl::StrFormat(" avg %.4g", *a.mean));
    }
  }
  out.push_back(app);
  return out;
}

std::string Cell(const TopColumn& c, const std::string& text) {
  const std::string fit = FitToColumns(text, c.width, &Wcwidth, g_unicode);
  const size_t used = DisplayColumns(fit, &Wcwidth);
  const std::string pad(c.width > used ? c.width - used : 0, ' ');
  return c.left ? fit + pad : pad + fit;
}

std::string CellText(TopColumnId id, const TopRow& r, bool by_process) {
  switch (id) {
    case TopColumnId::kId:
      return absl::StrCat(by_process ? r.thread_count
                                     : static_cast<int>(r.tid));
    case TopColumnId::kPid:
      return absl::StrCat(r.pid);
    case TopColumnId::kComm:
      return r.comm;
    case TopColumnId::kCpu:
      return absl::StrFormat("%.1f", r.cpu_percent);
    case TopColumnId::kSwitches:
      return absl::StrFormat("%.0f", r.switch_per_sec);
    case TopColumnId::kFaults:
      return absl::StrFormat("%.0f", r.fault_per_sec);
    case TopColumnId::kRead:
      return HumanBytes(r.read_bytes_per_sec);
    case TopColumnId::kWrite:
      return HumanBytes(r.write_bytes_per_sec);
    case TopColumnId::kRunQueue:
      return r.run_queue_wait_percent.has_value()
                 ? absl::StrFormat("%.1f", *r.run_queue_wait_percent)
                 : "-";
    case TopColumnId::kVerdict:
      return r.verdict;
  }
  return "";
}

std::string RowLine(const std::vector<TopColumn>& cols,
                    const std::function<std::string(const TopColumn&)>& text) {
  std::string line;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i > 0) line += ' ';
    line += Cell(cols[i], text(cols[i]));
  }
  return line;
}

void Draw(UiState& ui) {
  erase();
  int y = 0;
  const fb::Frame* frame = ui.model.frame();
  std::vector<TopRow> rows;
  if (frame != nullptr) {
    rows = ui.by_process ? ui.model.ProcessRows() : ui.model.ThreadRows();
    rows = FilterRows(std::move(rows), ui.filter);
    SortRows(rows, ui.sort);
  }
  const TopHeader h = ui.model.Header();
  std::vector<std::string> header =
      frame != nullptr ? HeaderLines(ui, h) : std::vector<std::string>();
  // A short terminal keeps at least kMinTableRows table rows: the header
  // gives up its lines from the bottom (APP, DISK, MEM, CORE, ...), CPU last.
  constexpr int kMinTableRows = 5;
  while (header.size() > 1 &&
         LINES - 1 - (1 + static_cast<int>(header.size()) + 2) <
             kMinTableRows) {
    header.pop_back();
  }
  // Rows left for the table: title, header, status, column titles, footer.
  const int table_top = 1 + static_cast<int>(header.size()) + 2;
  ui.page = static_cast<size_t>(std::max(1, LINES - 1 - table_top));
  const size_t first = ClampScroll(ui.scroll, rows.size(), ui.page);
  ui.scroll = static_cast<int64_t>(first);
  const size_t last = std::min(rows.size(), first + ui.page);

  std::string title = "perfwire top";
  if (frame != nullptr)
    absl::StrAppend(&title, "  ", h.hostname, "  seq ", h.seq);
  if (ui.model.replay()) {
    absl::StrAppend(&title, "  [REPLAY recorded ",
                    LocalTime(ui.model.last_time()), "]");
  }
  absl::StrAppend(&title, "  sort: ", SortName(ui.sort),
                  "  view: ", ui.by_process ? "processes" : "threads");
  absl::StrAppend(&title, "  rows ", rows.empty() ? 0 : first + 1, "-", last,
                  " of ", rows.size());
  if (!ui.filter.empty()) absl::StrAppend(&title, "  filter: ", ui.filter);
  if (ui.paused) absl::StrAppend(&title, "  [PAUSED]");
  attron(A_BOLD);
  Put(y++, 0, title);
  attroff(A_BOLD);
  for (const std::string& line : header) Put(y++, 0, line);

  attron(A_BOLD);
  if (ui.ended) {
    Put(y, 0,
        absl::StrCat("end of recording: ", ui.model.frame_count(),
                     " frames recorded ", LocalTime(ui.model.first_time()),
                     " to ", LocalTime(ui.model.last_time()),
                     "; press r to play it again"));
  } else if (!ui.status.empty()) {
    Put(y, 0, ui.status);
  } else if (frame == nullptr) {
    Put(y, 0, "waiting for the first frame\u2026");
  }
  attroff(A_BOLD);
  ++y;

  const bool contention = std::any_of(rows.begin(), rows.end(), [](auto& r) {
    return r.run_queue_wait_percent.has_value();
  });
  const std::vector<TopColumn> cols = LayoutColumns(
      static_cast<size_t>(std::max(COLS, 1)), ui.by_process, contention);
  std::string titles =
      RowLine(cols, [](const TopColumn& c) { return std::string(c.title); });
  titles.append(std::max(0, COLS - static_cast<int>(titles.size())), ' ');
  if (has_colors()) attron(COLOR_PAIR(1));
  Put(y++, 0, titles);
  if (has_colors()) attroff(COLOR_PAIR(1));
  for (size_t i = first; i < last && y < LINES - 1; ++i) {
    const TopRow& r = rows[i];
    Put(y++, 0, RowLine(cols, [&](const TopColumn& c) {
          return CellText(c.id, r, ui.by_process);
        }));
  }
  const std::string footer =
      ui.editing_filter
          ? absl::StrCat("filter (pid or comm, Enter applies): ", ui.filter)
          : "c cpu  s switches  f faults  i io  / filter  p process/thread  "
            "arrows PgUp PgDn Home End scroll  space pause  h help  q quit";
  attron(A_REVERSE);
  Put(LINES - 1, 0, footer);
  attroff(A_REVERSE);
  if (ui.help) DrawHelp();
  refresh();
}

// Applies one key; returns false to quit. Sets *replay_again for 'r' after
// the end of a replay.
bool HandleKey(int key, UiState& ui, std::string& saved_filter,
               bool* replay_again) {
  if (ui.editing_filter) {
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
      ui.editing_filter = false;
      ui.scroll = 0;
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
  const int64_t page = static_cast<int64_t>(ui.page);
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
      ui.scroll = 0;
      break;
    case ' ':
      ui.paused = !ui.paused;
      break;
    case 'h':
    case '?':
      ui.help = !ui.help;
      break;
    case 'r':
      if (ui.ended) *replay_again = true;
      break;
    case KEY_UP:
      ui.scroll -= 1;  // Draw clamps
      break;
    case KEY_DOWN:
      ui.scroll += 1;
      break;
    case KEY_PPAGE:
      ui.scroll -= page;
      break;
    case KEY_NPAGE:
      ui.scroll += page;
      break;
    case KEY_HOME:
      ui.scroll = 0;
      break;
    case KEY_END:
      ui.scroll = INT64_MAX / 2;
      break;
    case 27:
      ui.help = false;
      break;
    default:
      break;
  }
  return true;
}

int RunTop(const std::vector<char*>& args) {
  if (!args.empty()) {
    PrintError(absl::StrCat("unexpected argument '", args[0],
                            "' (see perfwire top --help)"));
    return 2;
  }
  const std::string socket = absl::GetFlag(FLAGS_socket);
  if (!isatty(STDOUT_FILENO)) return RunLines(socket);

  // The user's locale, so that ncursesw writes UTF-8 (the ellipsis, the
  // sparklines, thread names) as characters, not as ~@ escapes.
  std::setlocale(LC_ALL, "");
  const char* codeset = nl_langinfo(CODESET);
  g_unicode = codeset != nullptr && std::string(codeset) == "UTF-8";

  Shared shared;
  auto reader = std::make_unique<Reader>(socket, &shared);

  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Screen screen;
  UiState ui;
  ui.unicode = g_unicode;
  std::string saved_filter;
  bool dirty = true;
  while (!g_stop) {
    std::deque<Shared::Frame> frames;
    {
      absl::MutexLock lock(&shared.mu);
      if (shared.status != ui.status || shared.ended != ui.ended) {
        ui.status = shared.status;
        ui.ended = shared.ended;
        dirty = true;
      }
      if (!ui.paused) {
        frames.swap(shared.frames);
        shared.queued_bytes = 0;
      }
    }
    if (!frames.empty()) {
      for (const Shared::Frame& f : frames) ui.model.Add(f.bytes, f.replayed);
      dirty = true;
    }
    if (dirty) Draw(ui);
    dirty = false;
    const int key = getch();
    if (key == ERR) continue;
    dirty = true;
    if (key == KEY_RESIZE) continue;  // ncurses updated LINES/COLS
    bool replay_again = false;
    if (!HandleKey(key, ui, saved_filter, &replay_again)) break;
    if (replay_again) {
      reader.reset();
      {
        absl::MutexLock lock(&shared.mu);
        shared.frames.clear();
        shared.queued_bytes = 0;
        shared.ended = false;
        shared.status.clear();
      }
      ui.model.Reset();
      reader = std::make_unique<Reader>(socket, &shared);
    }
  }
  reader.reset();  // before `shared` goes
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
        "arrives. The header (each part only when the agent sends it): CPU\n"
        "busy % with a 60 s sparkline and load; task counts, context\n"
        "switches/s and forks/s; busy % per core; memory and swap; PSI\n"
        "(share of the interval some task stalled on cpu, memory, io); disk\n"
        "and network bytes/s with 60 s sparklines; the three busiest app\n"
        "metrics (StatsD) with their rates (counters and timers per second,\n"
        "gauges as set). Then a table of threads: tid, pid, comm, CPU% of one\n"
        "core, context switches/s, page faults/s, read and write bytes/s,\n"
        "plus run-queue wait % and a contention verdict with --contention.\n"
        "Columns fit the terminal: COMM narrows, then rate columns go.\n"
        "The process view (p) counts every live thread seen since top\n"
        "started and is named after the process's main thread.\n"
        "Keys: c/s/f/i sort by CPU/switches/faults/IO, / filter by pid or\n"
        "comm, p process/thread rows, arrows PgUp PgDn Home End scroll,\n"
        "space pause, h help, q quit.\n"
        "When the stream is lost it says why (agent gone, corrupt frame,\n"
        "incompatible schema, refused) and reconnects with a backoff of\n"
        "0.25 s doubling to 2 s.\n"
        "When stdout is not a terminal, prints `perfwire dump` summaries.\n"
        "Works on recordings too: `perfwire replay FILE --serve S` then\n"
        "`perfwire top --socket S`; the title then reads REPLAY with the\n"
        "recorded time, and the end of the recording is shown (r plays it\n"
        "again) instead of reconnecting. A connection is a replay when its\n"
        "first frame's monotonic or wall-clock time is more than 5 s (or one\n"
        "interval) from this host's clocks.",
    .flags = {"socket"},
    .run = RunTop,
};

}  // namespace perfwire
