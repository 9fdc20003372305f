#include "agent/app_metrics/app_aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

// Sender keys: a pid below 2^32, a UDP source address with this bit set.
constexpr uint64_t kUdpSenderBit = uint64_t{1} << 63;

// 100% means no per-sender limit: the global one decides (and counts).
size_t ShareOf(size_t limit, uint32_t percent) {
  if (percent >= 100) return SIZE_MAX;
  return std::max<size_t>(
      1, static_cast<size_t>(static_cast<double>(limit) * percent / 100.0));
}

}  // namespace

uint64_t AppSenderKeyForUdp(uint32_t ipv4_host_order, uint16_t port) {
  return kUdpSenderBit | (uint64_t{ipv4_host_order} << 16) | port;
}

std::string AppSenderDescription(uint64_t sender) {
  if ((sender & kUdpSenderBit) == 0) return absl::StrCat("pid ", sender);
  const uint32_t ip = static_cast<uint32_t>(sender >> 16);
  return absl::StrFormat("udp %d.%d.%d.%d:%d", ip >> 24, (ip >> 16) & 0xff,
                         (ip >> 8) & 0xff, ip & 0xff, sender & 0xffff);
}

uint32_t AppSenderPid(uint64_t sender) {
  return (sender & kUdpSenderBit) ? 0 : static_cast<uint32_t>(sender);
}

AppAggregator::AppAggregator(AppAggregatorLimits limits)
    : limits_(limits),
      sender_max_series_(
          ShareOf(limits.max_series, limits.sender_share_percent)),
      sender_max_bytes_(
          ShareOf(limits.max_memory_bytes, limits.sender_share_percent)) {}

void AppAggregator::Release(const AppSeries& s) {
  reserved_bytes_ -= s.reserved_bytes;
  auto it = senders_.find(s.sender);
  if (it == senders_.end()) return;
  --it->second.series;
  it->second.reserved_bytes -= s.reserved_bytes;
  if (it->second.series == 0 && it->second.share_overflow_count == 0)
    senders_.erase(it);
}

AppAggregator::ShareOverflow AppAggregator::TakeShareOverflow() {
  ShareOverflow out;
  for (auto it = senders_.begin(); it != senders_.end();) {
    Sender& sender = it->second;
    if (sender.share_overflow_count > 0) {
      out.line_count += sender.share_overflow_count;
      ++out.sender_count;
      if (sender.share_overflow_count > out.top_line_count ||
          (sender.share_overflow_count == out.top_line_count &&
           it->first < out.top_sender)) {
        out.top_line_count = sender.share_overflow_count;
        out.top_sender = it->first;
      }
      sender.share_overflow_count = 0;
    }
    if (sender.series == 0) {
      senders_.erase(it++);
    } else {
      ++it;
    }
  }
  return out;
}

AppSeries* AppAggregator::FindOrCreate(const StatsdLine& line, uint32_t pid,
                                       uint64_t sender, AddResult* result,
                                       bool* created) {
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

  Sender& owner = senders_[sender];
  if (owner.series >= sender_max_series_) {
    ++owner.share_overflow_count;
    *result = AddResult::kSenderShare;
    return nullptr;
  }
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
  if (owner.reserved_bytes + reserve > sender_max_bytes_) {
    ++owner.share_overflow_count;
    *result = AddResult::kSenderShare;
    return nullptr;
  }
  if (reserved_bytes_ + reserve > limits_.max_memory_bytes) {
    ++memory_overflow_count_;
    *result = AddResult::kMemoryCap;
    return nullptr;
  }

  auto series = std::make_unique<AppSeries>();
  series->name.assign(line.name);
  series->kind = line.kind;
  series->pid = pid;
  series->sender = sender;
  series->tags.reserve(sorted_tags_.size());
  for (const StatsdTag& t : sorted_tags_)
    series->tags.emplace_back(t.key, t.value);
  if (distribution) series->sketch = std::make_unique<QuantileSketch>();
  if (line.kind == AppMetricKind::kSet)
    series->distinct = std::make_unique<DistinctCounter>();
  series->reserved_bytes = reserve;
  reserved_bytes_ += reserve;
  ++owner.series;
  owner.reserved_bytes += reserve;
  AppSeries* raw = series.get();
  series_.emplace(key_, std::move(series));
  *created = true;
  return raw;
}

AppAggregator::AddResult AppAggregator::Add(const StatsdLine& line,
                                            uint32_t pid, uint64_t now_ns,
                                            uint64_t sender) {
  AddResult result = AddResult::kOk;
  bool created = false;
  AppSeries* s = FindOrCreate(line, pid, sender, &result, &created);
  if (s == nullptr) return result;
  const double weight = 1.0 / line.sample_rate;
  // Check first, apply after: a line that would leave a non-finite value
  // changes nothing.
  bool finite = std::isfinite(weight);
  switch (line.kind) {
    case AppMetricKind::kCounter: {
      double value = s->value;
      for (const StatsdValue& v : line.values) value += v.number * weight;
      finite = finite && std::isfinite(value);
      if (finite) {
        s->value = value;
        s->sample_count += line.values.size();
      }
      break;
    }
    case AppMetricKind::kGauge: {
      const bool deltas = limits_.signed_gauge == SignedGauge::kDelta;
      double value = s->value;
      for (const StatsdValue& v : line.values) {
        value = deltas && v.delta ? value + v.number : v.number;
        finite = finite && std::isfinite(value);
      }
      if (finite) {
        s->value = value;
        s->sample_count += line.values.size();
        s->gauge_updated = true;
        s->last_update_ns = now_ns;
      }
      break;
    }
    case AppMetricKind::kTiming:
    case AppMetricKind::kHistogram:
    case AppMetricKind::kDistribution: {
      double sum = s->sum;
      for (const StatsdValue& v : line.values) sum += v.number * weight;
      const double weighted_count =
          s->weighted_count + weight * static_cast<double>(line.values.size());
      finite = finite && std::isfinite(sum) && std::isfinite(weighted_count);
      if (!finite) break;
      for (const StatsdValue& v : line.values) {
        if (s->sample_count == 0) {
          s->min = s->max = v.number;
        } else {
          s->min = std::min(s->min, v.number);
          s->max = std::max(s->max, v.number);
        }
        ++s->sample_count;
        s->sketch->Add(v.number);
      }
      s->sum = sum;
      s->weighted_count = weighted_count;
      break;
    }
    case AppMetricKind::kSet:
      finite = true;  // no numbers
      s->distinct->Add(line.set_member);
      ++s->sample_count;
      break;
  }
  if (finite) return result;
  if (created) {
    // key_ still holds this line's key.
    Release(*s);
    series_.erase(key_);
  }
  return AddResult::kNotFinite;
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
      Release(s);
      series_.erase(it++);
    }
  }
}

}  // namespace perfwire
