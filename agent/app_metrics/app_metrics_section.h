#ifndef PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SECTION_H_
#define PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SECTION_H_

#include <cstdint>

#include "agent/app_metrics/app_aggregator.h"
#include "flatbuffers/flatbuffers.h"
#include "perfwire_generated.h"

namespace perfwire {

// Ends the aggregator's interval and serializes what it reports as the
// Frame's `app_metrics` vector (empty vector when nothing was sent).
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::AppSeries>>>
BuildAppMetricsSection(flatbuffers::FlatBufferBuilder& fbb,
                       AppAggregator& aggregator, uint64_t now_ns);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SECTION_H_
