#include "clients/lib/app_metrics_summary.h"

#include "agent/app_metrics/app_metrics_source.h"
#include "agent/frame_builder.h"
#include "clients/lib/frame_summary.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

TEST(AppMetricsSummary, RendersSeriesAndIsEmptyWithout) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  AppMetricsSource source(options);
  source.IngestDatagram(
      "shop.lat:12|ms|#region:eu,canary\nshop.lat:20|ms|#canary,region:eu\n"
      "shop.orders:3|c\nshop.users:a|s",
      4242);
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections sections;
  source.Collect(fbb, sections);
  FrameHeader header;
  header.seq = 1;
  FinishFrame(fbb, header, sections);
  const fb::Frame& f = *fb::GetSizePrefixedFrame(fbb.GetBufferPointer());

  const std::string text = FormatAppMetricsSummary(f, 2);
  EXPECT_NE(text.find("APP-METRIC"), std::string::npos) << text;
  EXPECT_NE(text.find("shop.lat{canary,region:eu}"), std::string::npos) << text;
  EXPECT_NE(text.find(" ms "), std::string::npos) << text;
  EXPECT_NE(text.find("4242"), std::string::npos) << text;
  EXPECT_NE(text.find("12.06"), std::string::npos)
      << text;  // p50 within 1% of 12
  EXPECT_NE(text.find("shop.orders"), std::string::npos) << text;
  EXPECT_NE(text.find("... 1 more app series"), std::string::npos) << text;
  EXPECT_NE(FormatFrameSummary(f).find("shop.orders"), std::string::npos);

  flatbuffers::FlatBufferBuilder empty;
  fb::FrameBuilder e(empty);
  e.add_seq(2);
  empty.Finish(e.Finish(), fb::FrameIdentifier());
  EXPECT_EQ(FormatAppMetricsSummary(*fb::GetFrame(empty.GetBufferPointer())),
            "");
}

}  // namespace
}  // namespace perfwire
