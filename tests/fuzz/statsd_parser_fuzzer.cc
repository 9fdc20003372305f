// libFuzzer target: any bytes as a datagram through the StatsD line splitter
// and parser; accepted values go into a quantile sketch. Checks invariants
// the aggregator relies on (views inside the input, finite numbers, rates in
// (0, 1], bounded tags and names) besides ASan/UBSan's.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/app_metrics/quantile_sketch.h"
#include "agent/app_metrics/statsd_parser.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() &&
          part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  static perfwire::StatsdLine line;
  perfwire::QuantileSketch sketch;
  perfwire::ForEachStatsdLine(datagram, [&](std::string_view text) {
    Check(Inside(text, datagram) && text.find('\n') == std::string_view::npos);
    const char* why = perfwire::ParseStatsdLine(text, &line);
    if (why != nullptr) {
      Check(!perfwire::DescribeMalformedLine(text, why).empty());
      return;
    }
    Check(!line.name.empty() && line.name.size() <= perfwire::kMaxAppNameBytes);
    Check(Inside(line.name, text));
    Check(line.sample_rate > 0 && line.sample_rate <= 1);
    Check(line.tags.size() <= perfwire::kMaxAppTagsPerLine);
    for (const auto& t : line.tags)
      Check(!t.key.empty() && Inside(t.key, text) && Inside(t.value, text));
    if (line.kind == perfwire::AppMetricKind::kSet) {
      Check(!line.set_member.empty() && Inside(line.set_member, text));
    } else {
      Check(!line.values.empty());
      for (const auto& v : line.values) {
        Check(std::isfinite(v.number));
        sketch.Add(v.number);
      }
    }
  });
  if (sketch.count() > 0) {
    const double p50 = sketch.Quantile(0.5);
    const double p99 = sketch.Quantile(0.99);
    Check(std::isfinite(p50) && std::isfinite(p99) && p50 <= p99);
    Check(sketch.MemoryBytes() <= perfwire::QuantileSketch::kMaxBytes);
  }
  return 0;
}
