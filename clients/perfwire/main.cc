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
#include "base/command_line.h"
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
  PrintFlags(out, command.flags);
}

// " (did you mean --x?)" for the command's flag nearest to `name`, or ""
// when none is close (at most a third of the name's letters differ, 2 at
// least).
std::string Suggestion(const Command& command, absl::string_view name) {
  const absl::string_view best = NearestName(name, command.flags);
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
  const FlagCheck check = CheckFlags(
      args, 1, command->flags,
      [&](absl::string_view name) {
        return absl::StrCat(" for `perfwire ", command->name, "`",
                            Suggestion(*command, name));
      },
      storage);
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
