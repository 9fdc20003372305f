// `perfwire <command> [flags]`: dispatches to one file per subcommand.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "clients/perfwire/command.h"
#include "version/version.h"

namespace perfwire {
namespace {

// Every subcommand, in the order `perfwire help` lists them. Adding one is
// one line here (its file defines the Command, command.h declares it).
const Command* const kCommands[] = {
    &kDumpCommand,   &kContentionCommand, &kTopCommand,
    &kRecordCommand, &kReplayCommand,     &kExportCommand,
};

constexpr int kExitUsage = 2;

const Command* FindCommand(absl::string_view name) {
  for (const Command* command : kCommands) {
    if (command->name == name) return command;
  }
  return nullptr;
}

void PrintUsage(std::FILE* out) {
  std::fprintf(out, "Usage: perfwire <command> [flags]\n\nCommands:\n");
  for (const Command* command : kCommands) {
    std::fprintf(out, "  %-10s %.*s\n", std::string(command->name).c_str(),
                 static_cast<int>(command->summary.size()),
                 command->summary.data());
  }
  std::fprintf(out, "  %-10s %s\n", "help",
               "list commands; `perfwire help <command>` describes one");
  std::fprintf(out,
               "\nRun `perfwire <command> --help` for a command's flags;\n"
               "`perfwire --version` prints the version and git revision.\n"
               "Usage errors exit with status 2.\n");
}

// Prints the command's usage and exactly the flags it reads, from the flag
// definitions themselves (help text and default).
void PrintCommandHelp(const Command& command, std::FILE* out) {
  std::fprintf(out, "%s\n", std::string(command.usage).c_str());
  if (command.flags.empty()) return;
  std::fprintf(out, "\nFlags:\n");
  for (absl::string_view name : command.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const bool is_string = flag->IsOfType<std::string>();
    const char* type = is_string                   ? "string"
                       : flag->IsOfType<bool>()    ? "bool"
                       : flag->IsOfType<int64_t>() ? "int64"
                                                   : "value";
    const std::string default_value =
        is_string ? absl::StrCat("\"", flag->DefaultValue(), "\"")
                  : flag->DefaultValue();
    std::fprintf(out, "  --%s (%s)\n      %s; default: %s\n",
                 std::string(name).c_str(), type, flag->Help().c_str(),
                 default_value.c_str());
  }
}

// Abseil's own help flags, passed through to it.
bool IsAbseilHelpFlag(absl::string_view name) {
  return name == "helpfull" || name == "helpshort" || name == "helppackage" ||
         name == "helpmatch" || name == "helpon";
}

struct FlagCheck {
  bool help = false;     // --help, -help, -h or one of Abseil's was given
  bool version = false;  // --version was given
  std::string error;     // non-empty: a usage error (unknown flag, bad value)
};

// Levenshtein distance, for "did you mean".
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean --x?)" for the command's flag nearest to `name`, or ""
// when none is close (at most a third of the name's letters differ, 2 at
// least).
std::string Suggestion(const Command& command, absl::string_view name) {
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  absl::string_view best;
  size_t best_distance = limit + 1;
  for (absl::string_view candidate : command.flags) {
    const size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (!best.empty()) return absl::StrCat(" (did you mean --", best, "?)");
  // A flag of other commands: say which.
  std::vector<std::string> readers;
  for (const Command* other : kCommands) {
    if (absl::c_linear_search(other->flags, name)) {
      readers.push_back(absl::StrCat("`perfwire ", other->name, "`"));
    }
  }
  if (readers.empty()) return "";
  return absl::StrCat(" (--", name, " is read by ",
                      absl::StrJoin(readers, ", "), ")");
}

// Checks the flags in args[1..] (args[0] is the command word) against the
// flags the command reads, so that a flag meant for another command is an
// error rather than silently ignored, and checks each value the way Abseil
// will parse it (Abseil itself exits 1 on a bad value; a usage error here
// exits 2). Rewrites `--flag VALUE` to `--flag=VALUE`, so that a value that
// starts with '-' (`-o -` for stdout) is taken as it is.
FlagCheck CheckFlags(const Command& command, std::vector<char*>& args,
                     std::vector<std::string>& storage) {
  FlagCheck check;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    // Abseil's own help flags would exit 1 after printing every flag of
    // the binary: they show this command's help instead, and exit 0.
    if (name == "help" || name == "h" || IsAbseilHelpFlag(name)) {
      check.help = true;
      continue;
    }
    if (name == "version") {
      check.version = true;
      continue;
    }
    const bool known = absl::c_linear_search(command.flags, name);
    absl::CommandLineFlag* flag =
        known ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr) {
      // --noNAME turns a boolean off.
      const absl::string_view positive =
          absl::StartsWith(name, "no") ? name.substr(2) : absl::string_view();
      const absl::CommandLineFlag* bool_flag =
          absl::c_linear_search(command.flags, positive)
              ? absl::FindCommandLineFlag(positive)
              : nullptr;
      if (bool_flag != nullptr && bool_flag->IsOfType<bool>() &&
          eq == absl::string_view::npos) {
        continue;
      }
      check.error = absl::StrCat("unknown flag --", name, " for `perfwire ",
                                 command.name, "`", Suggestion(command, name));
      return check;
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;  // --flag alone sets a boolean
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
      storage.push_back(absl::StrCat("--", name, "=", value));
      args[i] = storage.back().data();
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
      check.error = absl::StrCat("flag --", name, " needs a value");
      return check;
    }
    // ParseFrom sets the flag; Abseil's parse below sets the same value.
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      check.error =
          absl::StrCat("bad value for --", name, ": \"", value, "\": ", error);
      return check;
    }
  }
  return check;
}

int Main(int argc, char** argv) {
  // A closed stdout (e.g. `perfwire dump | head`) shows up as EPIPE on write.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const absl::string_view word = argv[1];
  if (word == "--version" || word == "-version" || word == "version") {
    std::printf("perfwire %s (git %s)\n", ProjectVersion(), GitRevision());
    return 0;
  }
  if (word == "help" || word == "--help" || word == "-help" || word == "-h") {
    if (argc > 2 && word == "help") {
      const Command* command = FindCommand(argv[2]);
      if (command == nullptr) {
        std::fprintf(stderr, "perfwire: unknown command '%s'\n\n", argv[2]);
        PrintUsage(stderr);
        return kExitUsage;
      }
      PrintCommandHelp(*command, stdout);
      return 0;
    }
    PrintUsage(stdout);
    return 0;
  }
  const Command* command = FindCommand(word);
  if (command == nullptr) {
    std::string hint;
    for (const Command* c : kCommands) {
      if (EditDistance(word, c->name) <= 2) {
        hint = absl::StrCat(" (did you mean `perfwire ", c->name, "`?)");
        break;
      }
    }
    std::fprintf(stderr, "perfwire: unknown command '%s'%s\n\n", argv[1],
                 hint.c_str());
    PrintUsage(stderr);
    return kExitUsage;
  }

  // Parse the flags after the command word, as if it were the program.
  std::vector<char*> args(argv + 1, argv + argc);
  std::vector<std::string> storage;  // rewritten arguments
  storage.reserve(args.size());      // pointers into it stay valid
  const FlagCheck check = CheckFlags(*command, args, storage);
  if (check.help) {
    PrintCommandHelp(*command, stdout);
    return 0;
  }
  if (check.version) {
    std::printf("perfwire %s (git %s)\n", ProjectVersion(), GitRevision());
    return 0;
  }
  if (!check.error.empty()) {
    std::fprintf(stderr, "perfwire: %s\n\n", check.error.c_str());
    PrintCommandHelp(*command, stderr);
    return kExitUsage;
  }
  absl::SetProgramUsageMessage(command->usage);
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "clients/perfwire/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  std::string program = absl::StrCat("perfwire ", command->name);
  args[0] = program.data();
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  positional.erase(positional.begin());  // the program name
  return command->run(positional);
}

}  // namespace
}  // namespace perfwire

int main(int argc, char** argv) { return perfwire::Main(argc, argv); }
