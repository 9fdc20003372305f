#include "agent/kernelfs/splitters.h"

namespace perfwire {

bool LineSplitter::Next(absl::string_view& line) {
  if (rest_.empty()) return false;
  ++line_number_;
  const size_t nl = rest_.find('\n');
  if (nl == absl::string_view::npos) {
    line = rest_;
    rest_ = {};
    complete_ = false;
  } else {
    line = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
    complete_ = true;
  }
  return true;
}

bool FieldSplitter::Next(absl::string_view& field) {
  size_t i = 0;
  while (i < rest_.size() && (rest_[i] == ' ' || rest_[i] == '\t')) ++i;
  if (i == rest_.size()) {
    rest_ = {};
    return false;
  }
  size_t j = i;
  while (j < rest_.size() && rest_[j] != ' ' && rest_[j] != '\t') ++j;
  field = rest_.substr(i, j - i);
  rest_.remove_prefix(j);
  return true;
}

}  // namespace perfwire
