#ifndef PERFWIRE_TESTS_UNIT_PYTHON_PARSE_H_
#define PERFWIRE_TESTS_UNIT_PYTHON_PARSE_H_

// Runs a real parser on our output: Debian's /usr/bin/python3 with its json
// or csv module, so "valid JSON/CSV" means what a real consumer accepts.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/unit/test_util.h"

namespace perfwire::testing {

struct PythonResult {
  int exit_code = -1;
  std::string out;  // stdout
};

// Writes `input` to a file and runs `/usr/bin/python3 -c script FILE`.
inline PythonResult RunPython(const std::string& script,
                              const std::string& input) {
  TempDir dir;
  const std::string input_path = dir.File("input");
  const std::string script_path = dir.File("script.py");
  std::ofstream(input_path, std::ios::binary) << input;
  std::ofstream(script_path) << script;
  const std::string command =
      "/usr/bin/python3 " + script_path + " " + input_path + " 2>&1";
  PythonResult result;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.out.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A script that parses FILE as JSON Lines strictly (NaN/Infinity tokens and
// invalid UTF-8 are errors) and prints each line back in Python's canonical
// form: sorted keys, repr() of floats (shortest round trip).
inline constexpr char kStrictJsonLines[] = R"(
import json, sys
def reject(token):
    raise ValueError('not JSON: ' + token)
with open(sys.argv[1], 'rb') as f:
    for line in f.read().decode('utf-8').splitlines():
        print(json.dumps(json.loads(line, parse_constant=reject),
                         sort_keys=True, ensure_ascii=True))
)";

}  // namespace perfwire::testing

#endif  // PERFWIRE_TESTS_UNIT_PYTHON_PARSE_H_
