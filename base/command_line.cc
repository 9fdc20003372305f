#include "base/command_line.h"

#include <algorithm>
#include <cstdint>

#include "absl/algorithm/container.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace perfwire {
namespace {

// Abseil's own help flags: they would print every flag of the binary and
// exit 1; ours print the program's flags and exit 0.
bool IsHelpFlag(absl::string_view name) {
  return name == "help" || name == "h" || name == "helpfull" ||
         name == "helpshort" || name == "helppackage" || name == "helpmatch" ||
         name == "helpon";
}

}  // namespace

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

absl::string_view NearestName(absl::string_view name,
                              absl::Span<const absl::string_view> candidates) {
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  absl::string_view best;
  size_t best_distance = limit + 1;
  for (absl::string_view candidate : candidates) {
    const size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

FlagCheck CheckFlags(std::vector<char*>& args, size_t first,
                     absl::Span<const absl::string_view> known,
                     absl::FunctionRef<std::string(absl::string_view)> hint,
                     std::vector<std::string>& storage) {
  FlagCheck check;
  for (size_t i = first; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    if (IsHelpFlag(name)) {
      check.help = true;
      continue;
    }
    if (name == "version") {
      check.version = true;
      continue;
    }
    absl::CommandLineFlag* flag = absl::c_linear_search(known, name)
                                      ? absl::FindCommandLineFlag(name)
                                      : nullptr;
    if (flag == nullptr) {
      // --noNAME turns a boolean off.
      const absl::string_view positive =
          absl::StartsWith(name, "no") ? name.substr(2) : absl::string_view();
      const absl::CommandLineFlag* bool_flag =
          absl::c_linear_search(known, positive)
              ? absl::FindCommandLineFlag(positive)
              : nullptr;
      if (bool_flag != nullptr && bool_flag->IsOfType<bool>() &&
          eq == absl::string_view::npos) {
        continue;
      }
      check.error = absl::StrCat("unknown flag --", name, hint(name));
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
    // ParseFrom sets the flag; Abseil's parse afterwards sets the same value.
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      check.error =
          absl::StrCat("bad value for --", name, ": \"", value, "\": ", error);
      return check;
    }
  }
  return check;
}

void PrintFlags(std::FILE* out, absl::Span<const absl::string_view> names) {
  for (absl::string_view name : names) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const bool is_string = flag->IsOfType<std::string>();
    const char* type = is_string                    ? "string"
                       : flag->IsOfType<bool>()     ? "bool"
                       : flag->IsOfType<int64_t>()  ? "int64"
                       : flag->IsOfType<uint32_t>() ? "uint32"
                       : flag->IsOfType<uint64_t>() ? "uint64"
                       : flag->IsOfType<double>()   ? "double"
                       : flag->IsOfType<FileMode>() ? "octal mode"
                                                    : "value";
    std::string default_value = flag->DefaultValue();
    if (is_string) default_value = absl::StrCat("\"", default_value, "\"");
    std::fprintf(out, "  --%s (%s)\n      %s; default: %s\n",
                 std::string(name).c_str(), type, flag->Help().c_str(),
                 default_value.c_str());
  }
}

bool AbslParseFlag(absl::string_view text, FileMode* mode, std::string* error) {
  absl::string_view digits = text;
  absl::ConsumePrefix(&digits, "0o");
  uint32_t bits = 0;
  if (digits.empty() ||
      !absl::c_all_of(digits, [](char c) { return c >= '0' && c <= '7'; }) ||
      !absl::numbers_internal::safe_strtou32_base(digits, &bits, 8) ||
      bits > 07777) {
    *error = "want an octal file mode such as 0660 (at most 07777)";
    return false;
  }
  mode->bits = bits;
  return true;
}

std::string AbslUnparseFlag(FileMode mode) {
  return absl::StrFormat("0%o", mode.bits);
}

}  // namespace perfwire
