#include "agent/app_metrics/statsd_parser.h"

#include <charconv>
#include <cmath>

namespace perfwire {
namespace {

bool IsControl(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

bool ValidName(std::string_view s) {
  for (char c : s) {
    if (IsControl(c) || c == ' ' || c == '|' || c == '#' || c == ',' ||
        c == '@')
      return false;
  }
  return true;
}

// Tags and set members: spaces are allowed (real clients send them and the
// Datadog agent keeps them); field and list separators are not.
bool ValidTagText(std::string_view s) {
  for (char c : s) {
    if (IsControl(c) || c == '|' || c == ',') return false;
  }
  return true;
}

// A DogStatsD extension field "key:value" with a lower-case ASCII key, e.g.
// v1.5 "e:" (external data) or v1.6 "card:" (cardinality).
bool IsKeyValueField(std::string_view field) {
  const size_t colon = field.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (char c : field.substr(0, colon)) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

// A finite decimal number, optionally signed ('+' is accepted too).
bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
    if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    return false;
  *out = negative ? -v : v;
  return true;
}

bool ParseKind(std::string_view s, AppMetricKind* kind) {
  if (s == "c")
    *kind = AppMetricKind::kCounter;
  else if (s == "g")
    *kind = AppMetricKind::kGauge;
  else if (s == "ms")
    *kind = AppMetricKind::kTiming;
  else if (s == "h")
    *kind = AppMetricKind::kHistogram;
  else if (s == "d")
    *kind = AppMetricKind::kDistribution;
  else if (s == "s")
    *kind = AppMetricKind::kSet;
  else
    return false;
  return true;
}

const char* ParseTags(std::string_view s, std::vector<StatsdTag>* tags) {
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view tag = s.substr(0, comma);
    if (!tag.empty()) {
      if (!ValidTagText(tag)) return "bad character in tag";
      if (tags->size() >= kMaxAppTagsPerLine) return "too many tags";
      const size_t colon = tag.find(':');
      StatsdTag t;
      t.key = tag.substr(0, colon);
      if (colon != std::string_view::npos) t.value = tag.substr(colon + 1);
      if (t.key.empty()) return "empty tag key";
      tags->push_back(t);
    }
    if (comma == std::string_view::npos) return nullptr;
    s.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string_view AppMetricKindSuffix(AppMetricKind kind) {
  switch (kind) {
    case AppMetricKind::kCounter:
      return "c";
    case AppMetricKind::kGauge:
      return "g";
    case AppMetricKind::kTiming:
      return "ms";
    case AppMetricKind::kHistogram:
      return "h";
    case AppMetricKind::kDistribution:
      return "d";
    case AppMetricKind::kSet:
      return "s";
  }
  return "?";
}

const char* ParseStatsdLine(std::string_view line, StatsdLine* out) {
  out->values.clear();
  out->tags.clear();
  out->set_member = {};
  out->sample_rate = 1.0;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return "empty line";
  if (line.front() == '_' &&
      (line.starts_with("_e{") || line.starts_with("_sc|"))) {
    return "events and service checks are not supported";
  }

  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "missing ':' after name";
  out->name = line.substr(0, colon);
  if (out->name.empty()) return "empty name";
  if (out->name.size() > kMaxAppNameBytes) return "name too long";
  if (!ValidName(out->name)) return "bad character in name";
  line.remove_prefix(colon + 1);

  size_t bar = line.find('|');
  if (bar == std::string_view::npos) return "missing type";
  const std::string_view values = line.substr(0, bar);
  line.remove_prefix(bar + 1);
  bar = line.find('|');
  const std::string_view type = line.substr(0, bar);
  if (type.empty()) return "missing type";
  if (!ParseKind(type, &out->kind)) return "unknown type";
  bool saw_rate = false;
  bool saw_tags = false;
  while (bar != std::string_view::npos) {
    line.remove_prefix(bar + 1);
    bar = line.find('|');
    const std::string_view field = line.substr(0, bar);
    if (field.empty()) return "empty field";
    if (field.front() == '@') {
      if (saw_rate) return "repeated sample rate";
      saw_rate = true;
      double rate = 0;
      if (!ParseNumber(field.substr(1), &rate) || !(rate > 0) || rate > 1) {
        return "sample rate not in (0, 1]";
      }
      out->sample_rate = rate;
    } else if (field.front() == '#') {
      if (saw_tags) return "repeated tags";
      saw_tags = true;
      if (const char* why = ParseTags(field.substr(1), &out->tags)) return why;
    } else if (field.front() == 'T' || IsKeyValueField(field)) {
      // DogStatsD client timestamp, container id (c:), external data (e:),
      // cardinality (card:) and any later key:value field: accepted and
      // ignored, as the Datadog agent does.
    } else {
      return "unknown field";
    }
  }

  if (values.empty()) return "missing value";
  if (out->kind == AppMetricKind::kSet) {
    if (!ValidTagText(values)) return "bad character in set member";
    out->set_member = values;
    return nullptr;
  }
  std::string_view rest = values;
  while (true) {
    const size_t sep = rest.find(':');
    const std::string_view text = rest.substr(0, sep);
    StatsdValue v;
    if (!ParseNumber(text, &v.number)) return "value is not a finite number";
    v.delta = out->kind == AppMetricKind::kGauge &&
              (text.front() == '+' || text.front() == '-');
    out->values.push_back(v);
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  return nullptr;
}

std::string DescribeMalformedLine(std::string_view line, const char* reason,
                                  size_t max_line_bytes) {
  std::string out = "line '";
  const bool shortened = line.size() > max_line_bytes;
  for (char c : line.substr(0, max_line_bytes)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (shortened) out += "...";
  out += "': ";
  out += reason;
  return out;
}

}  // namespace perfwire
