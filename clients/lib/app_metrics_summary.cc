#include "clients/lib/app_metrics_summary.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace perfwire {
namespace {

std::string Printable(const flatbuffers::String* s) {
  std::string out;
  if (s == nullptr) return out;
  for (char c : s->string_view())
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

const char* TypeName(fb::AppMetricType t) {
  switch (t) {
    case fb::AppMetricType::Counter:
      return "c";
    case fb::AppMetricType::Gauge:
      return "g";
    case fb::AppMetricType::Timing:
      return "ms";
    case fb::AppMetricType::Histogram:
      return "h";
    case fb::AppMetricType::Distribution:
      return "d";
    case fb::AppMetricType::Set:
      return "s";
  }
  return "?";
}

}  // namespace

std::string FormatAppMetricsSummary(const fb::Frame& frame, size_t max_series) {
  std::string out;
  const auto* series = frame.app_metrics();
  if (series == nullptr || series->size() == 0 || max_series == 0) return out;
  absl::StrAppendFormat(&out, "%-40s %-4s %8s %13s %9s %9s\n", "APP-METRIC",
                        "TYPE", "PID", "VALUE/COUNT", "P50", "P99");
  const size_t shown = std::min<size_t>(max_series, series->size());
  for (size_t i = 0; i < shown; ++i) {
    const fb::AppSeries& s = *series->Get(i);
    std::string name = Printable(s.name());
    if (s.tags() != nullptr && s.tags()->size() > 0) {
      name += "{";
      for (size_t t = 0; t < s.tags()->size(); ++t) {
        const fb::AppTag& tag = *s.tags()->Get(t);
        absl::StrAppend(&name, t ? "," : "", Printable(tag.key()));
        if (tag.value() != nullptr && tag.value()->size() > 0) {
          absl::StrAppend(&name, ":", Printable(tag.value()));
        }
      }
      name += "}";
    }
    double value = s.value();
    std::string p50 = "-", p99 = "-";
    switch (s.type()) {
      case fb::AppMetricType::Timing:
      case fb::AppMetricType::Histogram:
      case fb::AppMetricType::Distribution:
        value = s.count();
        p50 = absl::StrFormat("%.4g", s.p50());
        p99 = absl::StrFormat("%.4g", s.p99());
        break;
      case fb::AppMetricType::Set:
        value = static_cast<double>(s.distinct_count());
        break;
      default:
        break;
    }
    absl::StrAppendFormat(&out, "%-40s %-4s %8d %13.6g %9s %9s\n", name,
                          TypeName(s.type()), s.pid(), value, p50, p99);
  }
  if (shown < series->size()) {
    absl::StrAppendFormat(&out, "... %d more app series\n",
                          series->size() - shown);
  }
  return out;
}

}  // namespace perfwire
