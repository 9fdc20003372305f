#include "agent/frame_builder.h"

#include "perfwire_generated.h"
#include "schema_text.h"

namespace perfwire {

void FinishFrame(flatbuffers::FlatBufferBuilder& fbb, const FrameHeader& header,
                 const FrameSections& sections) {
  std::vector<flatbuffers::Offset<fb::SourceStatus>> statuses;
  statuses.reserve(header.sources.size());
  for (const SourceStatus& st : header.sources) {
    statuses.push_back(
        fb::CreateSourceStatusDirect(fbb, st.name.c_str(), st.available,
                                     st.reason.c_str(), st.hook.c_str()));
  }
  const auto statuses_vec = fbb.CreateVector(statuses);
  const auto hostname = fbb.CreateString(header.hostname);
  const auto kernel = fbb.CreateString(header.kernel_release);

  fb::AgentStatsBuilder agent(fbb);
  agent.add_cpu_ns(header.agent_cpu_ns);
  agent.add_rss_bytes(header.agent_rss_bytes);
  agent.add_collect_ns(header.collect_ns);
  agent.add_lost_event_count(sections.loss_total());
  sections.AddAgentFieldsTo(fbb);
  const auto agent_stats = agent.Finish();

  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(header.seq);
  frame.add_monotonic_ns(header.monotonic_ns);
  frame.add_realtime_ns(header.realtime_ns);
  frame.add_interval_ns(header.interval_ns);
  frame.add_hostname(hostname);
  frame.add_kernel_release(kernel);
  frame.add_sources(statuses_vec);
  frame.add_agent(agent_stats);
  sections.AddFrameFieldsTo(fbb);
  fbb.ForceDefaults(true);
  frame.add_consumer_dropped_frame_count(0);
  fbb.ForceDefaults(false);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
}

}  // namespace perfwire
