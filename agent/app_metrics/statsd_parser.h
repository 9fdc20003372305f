#ifndef PERFWIRE_AGENT_APP_METRICS_STATSD_PARSER_H_
#define PERFWIRE_AGENT_APP_METRICS_STATSD_PARSER_H_

// The StatsD / DogStatsD line grammar perfwire accepts, as a pure function.
// Depends on the standard library only, so the libFuzzer target can build it
// with clang alone.
//
//   line   := name ':' values '|' type ( '|' field )*
//   values := value ( ':' value )*          (DogStatsD 1.1 multi-value packets;
//                                            a set takes the whole text as one
//                                            member)
//   type   := 'c' | 'g' | 'ms' | 'h' | 'd' | 's'
//   field  := '@' rate                      (0 < rate <= 1)
//           | '#' tag ( ',' tag )*          (tag := key [ ':' value ])
//           | 'T' unix-seconds                       (DogStatsD; accepted,
//           | key ':' text   (key: [a-z]+)            ignored: 'c:' container
//                                                    id, v1.5 'e:' external
//                                                    data, v1.6 'card:'
//                                                    cardinality, and any
//                                                    later key:value field,
//                                                    as the Datadog agent)
//
// A gauge value written with a leading '+' or '-' is marked signed
// (StatsdValue::delta); whether it moves or sets the gauge is the
// aggregator's choice (AppAggregatorLimits::signed_gauge). Numbers are finite
// decimal floating point. Names contain no control bytes and no ' ', '|',
// '#', ',', ':' or '@'; tag keys, tag values and set members no control bytes
// and no '|' or ',' (spaces are allowed).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace perfwire {

enum class AppMetricKind : uint8_t {
  kCounter,
  kGauge,
  kTiming,
  kHistogram,
  kDistribution,
  kSet
};

// The StatsD type letters of `kind`: "c", "g", "ms", "h", "d", "s".
std::string_view AppMetricKindSuffix(AppMetricKind kind);

inline constexpr size_t kMaxAppNameBytes = 200;
inline constexpr size_t kMaxAppTagsPerLine = 32;

struct StatsdTag {
  std::string_view key;
  std::string_view value;  // empty for a bare tag ("#env")
};

struct StatsdValue {
  double number = 0;
  bool delta = false;  // gauges only: written with a leading '+' or '-'
};

// One parsed line. Views point into the parsed text. Reuse one instance
// across lines: its vectors keep their capacity, so steady-state parsing
// does not allocate.
struct StatsdLine {
  std::string_view name;
  AppMetricKind kind = AppMetricKind::kCounter;
  double sample_rate = 1.0;
  std::vector<StatsdValue> values;  // numeric kinds: one or more
  std::string_view set_member;      // kSet: the member, as sent
  std::vector<StatsdTag> tags;      // in the order sent
};

// Parses one line (no '\n'; a trailing '\r' is ignored). Returns nullptr on
// success, or a static, human-readable reason (e.g. "missing type") and
// leaves `out` unspecified.
const char* ParseStatsdLine(std::string_view line, StatsdLine* out);

// Calls `fn(line)` for each non-empty '\n'-separated line of `datagram`.
template <typename Fn>
void ForEachStatsdLine(std::string_view datagram, Fn&& fn) {
  while (!datagram.empty()) {
    const size_t nl = datagram.find('\n');
    std::string_view line = datagram.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) fn(line);
    if (nl == std::string_view::npos) break;
    datagram.remove_prefix(nl + 1);
  }
}

// "line '<line>': <reason>", the line shortened to `max_line_bytes` and
// bytes outside printable ASCII shown as '?', so it is safe to put in a frame.
std::string DescribeMalformedLine(std::string_view line, const char* reason,
                                  size_t max_line_bytes = 80);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_STATSD_PARSER_H_
