#include "agent/app_metrics/app_aggregator.h"

#include <algorithm>
#include <tuple>

namespace perfwire {
namespace {

// Hash-map node, key and bookkeeping beyond the strings themselves.
constexpr size_t kSeriesOverheadBytes = sizeof(AppSeries) + 96;

bool TagLess(const StatsdTag& a, const StatsdTag& b) {
  return std::tie(a.key, a.value) < std::tie(b.key, b.value);
}
bool TagEqual(const StatsdTag& a, const StatsdTag& b) {
  return a.key == b.key && a.value == b.value;
}

}  // namespace

AppAggregator::AppAggregator(AppAggregatorLimits limits) : limits_(limits) {}

AppSeries* AppAggregator::FindOrCreate(const StatsdLine& line, uint32_t pid,
                                       AddResult* result) {
  sorted_tags_.assign(line.tags.begin(), line.tags.end());
  std::sort(sorted_tags_.begin(), sorted_tags_.end(), TagLess);
  sorted_tags_.erase(
      std::unique(sorted_tags_.begin(), sorted_tags_.end(), TagEqual),
      sorted_tags_.end());
  // Unambiguous: names and tags never contain control bytes.
  key_.assign(line.name);
  key_.push_back('\x1f');
  key_.push_back(static_cast<char>('0' + static_cast<int>(line.kind)));
  key_.append(reinterpret_cast<const char*>(&pid), sizeof(pid));
  size_t tag_bytes = 0;
  for (const StatsdTag& t : sorted_tags_) {
    key_.push_back('\x1f');
    key_.append(t.key);
    key_.push_back('\x1e');
    key_.append(t.value);
    tag_bytes += t.key.size() + t.value.size() + 2 * sizeof(std::string);
  }
  auto it = series_.find(key_);
  if (it != series_.end()) return it->second.get();

  if (series_.size() >= limits_.max_series) {
    ++series_overflow_count_;
    *result = AddResult::kSeriesCap;
    return nullptr;
  }
  size_t reserve = kSeriesOverheadBytes + 2 * key_.size() + tag_bytes;
  const bool distribution = line.kind == AppMetricKind::kTiming ||
                            line.kind == AppMetricKind::kHistogram ||
                            line.kind == AppMetricKind::kDistribution;
  if (distribution) reserve += QuantileSketch::kMaxBytes;
  if (line.kind == AppMetricKind::kSet) reserve += DistinctCounter::kMaxBytes;
  if (reserved_bytes_ + reserve > limits_.max_memory_bytes) {
    ++memory_overflow_count_;
    *result = AddResult::kMemoryCap;
    return nullptr;
  }

  auto series = std::make_unique<AppSeries>();
  series->name.assign(line.name);
  series->kind = line.kind;
  series->pid = pid;
  series->tags.reserve(sorted_tags_.size());
  for (const StatsdTag& t : sorted_tags_)
    series->tags.emplace_back(t.key, t.value);
  if (distribution) series->sketch = std::make_unique<QuantileSketch>();
  if (line.kind == AppMetricKind::kSet)
    series->distinct = std::make_unique<DistinctCounter>();
  series->reserved_bytes = reserve;
  reserved_bytes_ += reserve;
  AppSeries* raw = series.get();
  series_.emplace(key_, std::move(series));
  return raw;
}

AppAggregator::AddResult AppAggregator::Add(const StatsdLine& line,
                                            uint32_t pid, uint64_t now_ns) {
  AddResult result = AddResult::kOk;
  AppSeries* s = FindOrCreate(line, pid, &result);
  if (s == nullptr) return result;
  const double weight = 1.0 / line.sample_rate;
  switch (line.kind) {
    case AppMetricKind::kCounter:
      for (const StatsdValue& v : line.values) s->value += v.number * weight;
      s->sample_count += line.values.size();
      break;
    case AppMetricKind::kGauge:
      for (const StatsdValue& v : line.values)
        s->value = v.delta ? s->value + v.number : v.number;
      s->sample_count += line.values.size();
      s->gauge_updated = true;
      s->last_update_ns = now_ns;
      break;
    case AppMetricKind::kTiming:
    case AppMetricKind::kHistogram:
    case AppMetricKind::kDistribution:
      for (const StatsdValue& v : line.values) {
        if (s->sample_count == 0) {
          s->min = s->max = v.number;
        } else {
          s->min = std::min(s->min, v.number);
          s->max = std::max(s->max, v.number);
        }
        ++s->sample_count;
        s->weighted_count += weight;
        s->sum += v.number * weight;
        s->sketch->Add(v.number);
      }
      break;
    case AppMetricKind::kSet:
      s->distinct->Add(line.set_member);
      ++s->sample_count;
      break;
  }
  return result;
}

std::vector<const AppSeries*> AppAggregator::Reportable() const {
  std::vector<const AppSeries*> out;
  out.reserve(series_.size());
  for (const auto& [key, s] : series_) {
    if (s->sample_count > 0 || s->kind == AppMetricKind::kGauge)
      out.push_back(s.get());
  }
  std::sort(out.begin(), out.end(), [](const AppSeries* a, const AppSeries* b) {
    return std::tie(a->name, a->kind, a->pid, a->tags) <
           std::tie(b->name, b->kind, b->pid, b->tags);
  });
  return out;
}

void AppAggregator::Reset(uint64_t now_ns) {
  for (auto it = series_.begin(); it != series_.end();) {
    AppSeries& s = *it->second;
    const bool keep = s.kind == AppMetricKind::kGauge &&
                      now_ns - s.last_update_ns < limits_.gauge_ttl_ns;
    if (keep) {
      s.sample_count = 0;
      s.gauge_updated = false;
      ++it;
    } else {
      reserved_bytes_ -= s.reserved_bytes;
      series_.erase(it++);
    }
  }
}

}  // namespace perfwire
