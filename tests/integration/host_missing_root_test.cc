// A source's input removed: /proc and /sys roots pointed at a path that does
// not exist. The frame still arrives; every /proc-based section is absent with
// a reason naming the missing file; the sources that need neither root (perf
// software counters) keep reporting.

#include <map>
#include <memory>
#include <string>

#include "agent/collector.h"
#include "agent/source_registry.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

TEST(HostMissingRoot, OtherSectionsStillArrive) {
  PERFWIRE_REQUIRE_BPF();  // root: system-wide perf counting
  HostOptions o;
  o.proc_root = "/nonexistent/proc";
  o.sys_root = "/nonexistent/sys";
  o.software_perf_counters = true;
  std::vector<std::unique_ptr<Source>> sources = CreateHostSources(o);
  Collector collector(std::move(sources));
  collector.StartSources();
  std::shared_ptr<const flatbuffers::DetachedBuffer> buf;
  for (int i = 0; i < 2; ++i) buf = collector.CollectFrame();
  // The whole size-prefixed message, aligned as the builder aligned it.
  flatbuffers::Verifier verifier(buf->data(), buf->size());
  ASSERT_TRUE(fb::VerifySizePrefixedFrameBuffer(verifier));
  const fb::Frame* f = fb::GetSizePrefixedFrame(buf->data());
  EXPECT_EQ(f->cpu(), nullptr);
  EXPECT_EQ(f->memory(), nullptr);
  EXPECT_EQ(f->disks(), nullptr);
  EXPECT_EQ(f->filesystems(), nullptr);
  EXPECT_EQ(f->network(), nullptr);
  EXPECT_EQ(f->processes(), nullptr);
  ASSERT_NE(f->perf_software(), nullptr);  // online CPUs fall back to sysconf
  EXPECT_EQ(f->perf_software()->events()->size(), 5u);
  std::map<std::string, const fb::SourceStatus*> by_name;
  for (const auto* st : *f->sources()) by_name[st->name()->str()] = st;
  for (const char* name :
       {"cpu", "memory", "disks", "filesystems", "network", "processes"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_FALSE(by_name[name]->available()) << name;
    EXPECT_NE(by_name[name]->reason()->str().find("/nonexistent/proc/"),
              std::string::npos)
        << name << ": " << by_name[name]->reason()->str();
  }
  EXPECT_TRUE(by_name["perf.software"]->available());
  EXPECT_FALSE(by_name["gpu"]->available());
}

}  // namespace
}  // namespace perfwire::testing
