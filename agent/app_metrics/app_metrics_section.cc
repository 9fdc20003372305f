#include "agent/app_metrics/app_metrics_section.h"

#include <vector>

#include "perfwire_generated.h"

namespace perfwire {
namespace {

fb::AppMetricType ToFb(AppMetricKind kind) {
  switch (kind) {
    case AppMetricKind::kCounter:
      return fb::AppMetricType::Counter;
    case AppMetricKind::kGauge:
      return fb::AppMetricType::Gauge;
    case AppMetricKind::kTiming:
      return fb::AppMetricType::Timing;
    case AppMetricKind::kHistogram:
      return fb::AppMetricType::Histogram;
    case AppMetricKind::kDistribution:
      return fb::AppMetricType::Distribution;
    case AppMetricKind::kSet:
      return fb::AppMetricType::Set;
  }
  return fb::AppMetricType::Counter;
}

}  // namespace

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::AppSeries>>>
BuildAppMetricsSection(flatbuffers::FlatBufferBuilder& fbb,
                       AppAggregator& aggregator, uint64_t now_ns) {
  std::vector<flatbuffers::Offset<fb::AppSeries>> out;
  std::vector<flatbuffers::Offset<fb::AppTag>> tags;
  aggregator.EndInterval(now_ns, [&](const AppSeries& s) {
    tags.clear();
    for (const auto& [key, value] : s.tags) {
      tags.push_back(fb::CreateAppTagDirect(fbb, key.c_str(), value.c_str()));
    }
    const auto tags_vec = tags.empty() ? 0 : fbb.CreateVector(tags);
    const auto name = fbb.CreateString(s.name);
    fb::AppSeriesBuilder b(fbb);
    b.add_name(name);
    b.add_type(ToFb(s.kind));
    if (!tags_vec.IsNull()) b.add_tags(tags_vec);
    b.add_pid(s.pid);
    b.add_sample_count(s.sample_count);
    switch (s.kind) {
      case AppMetricKind::kCounter:
        b.add_value(s.value);
        break;
      case AppMetricKind::kGauge:
        b.add_value(s.value);
        b.add_gauge_updated(s.gauge_updated);
        break;
      case AppMetricKind::kTiming:
      case AppMetricKind::kHistogram:
      case AppMetricKind::kDistribution:
        b.add_count(s.weighted_count);
        b.add_sum(s.sum);
        b.add_min(s.min);
        b.add_max(s.max);
        b.add_p50(s.sketch->Quantile(0.50));
        b.add_p90(s.sketch->Quantile(0.90));
        b.add_p99(s.sketch->Quantile(0.99));
        break;
      case AppMetricKind::kSet:
        b.add_distinct_count(s.distinct->Count());
        b.add_distinct_estimated(s.distinct->estimated());
        break;
    }
    out.push_back(b.Finish());
  });
  return fbb.CreateVector(out);
}

}  // namespace perfwire
