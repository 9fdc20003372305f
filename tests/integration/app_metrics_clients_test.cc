// app_metrics against the StatsD/DogStatsD client libraries people use, as
// they are: Debian's python3-aiodogstatsd and libnet-statsd-perl, and npm's
// hot-shots, node-statsd and statsd-client (pinned in tests/clients, installed
// by `make deps`). Each client sends through its own public API to a real
// perfwired; the test checks the frames' series, values, tags and sender.
//
// A client library that is not installed is skipped with a message saying
// how to install it; under CI=true it fails instead.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/lib/frame_stream.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace perfwire::testing {
namespace {

constexpr int kIntervalMs = 200;

#define PERFWIRE_REQUIRE_CLIENT(path, how)                                \
  do {                                                                    \
    if (access(path, R_OK) != 0) {                                        \
      const std::string why =                                             \
          absl::StrCat(path, " is missing: ", how, " (run `make deps`)"); \
      if (::perfwire::testing::InCi()) FAIL() << "CI=true but " << why;   \
      GTEST_SKIP() << why;                                                \
    }                                                                     \
  } while (0)

const std::string kNodeModules =
    std::string(PERFWIRE_SOURCE_DIR) + "/tests/clients/node_modules";

// What a series added up to over the frames read.
struct Seen {
  fb::AppMetricType type = fb::AppMetricType::Counter;
  uint32_t pid = 0;
  std::map<std::string, std::string> tags;
  double value = 0;  // counter: summed; gauge: last updated value
  double count = 0, sum = 0, min = 0, max = 0;
  uint64_t distinct = 0;
  uint64_t samples = 0;
};

struct Totals {
  std::map<std::string, Seen> series;  // by name
  uint64_t malformed = 0;
  std::vector<std::string> malformed_samples;
  uint64_t lines = 0;

  void Add(const fb::Frame* f) {
    if (const fb::AppMetricsStats* st =
            f->agent() ? f->agent()->app_metrics() : nullptr) {
      malformed += st->malformed_line_count();
      lines += st->line_count();
      if (st->malformed_line_sample())
        malformed_samples.push_back(st->malformed_line_sample()->str());
    }
    if (f->app_metrics() == nullptr) return;
    for (const fb::AppSeries* s : *f->app_metrics()) {
      if (s->sample_count() == 0) continue;  // a carried-over gauge
      Seen& seen = series[s->name()->str()];
      const bool first = seen.samples == 0;
      seen.type = s->type();
      seen.pid = s->pid();
      seen.tags.clear();
      if (s->tags()) {
        for (const fb::AppTag* t : *s->tags())
          seen.tags[t->key()->str()] = t->value() ? t->value()->str() : "";
      }
      seen.samples += s->sample_count();
      switch (s->type()) {
        case fb::AppMetricType::Counter:
          seen.value += s->value();
          break;
        case fb::AppMetricType::Gauge:
          seen.value = s->value();
          break;
        case fb::AppMetricType::Set:
          seen.distinct += s->distinct_count();
          break;
        default:
          seen.count += s->count();
          seen.sum += s->sum();
          seen.min = first ? s->min() : std::min(seen.min, s->min());
          seen.max = first ? s->max() : std::max(seen.max, s->max());
      }
    }
  }
  const Seen* Find(const std::string& name) const {
    auto it = series.find(name);
    return it == series.end() ? nullptr : &it->second;
  }
};

class AppMetricsClientsTest : public ::testing::Test {
 protected:
  void StartAgent(std::vector<std::string> extra = {}) {
    app_socket_ = app_dir_.path() + "/app.sock";
    udp_port_ = FreeUdpPort();
    extra.push_back("--app_socket=" + app_socket_);
    extra.push_back("--statsd_udp");
    extra.push_back(absl::StrCat("--statsd_udp_address=127.0.0.1:", udp_port_));
    agent_ = std::make_unique<Agent>(absl::StrCat(kIntervalMs, "ms"), extra);
    ASSERT_TRUE(agent_->started()) << agent_->error();
    auto stream = FrameStream::Connect(agent_->socket());
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::make_unique<FrameStream>(std::move(*stream));
  }

  static int FreeUdpPort() {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  // Runs `binary args...` to completion (its stdout into *out), then reads
  // frames until every name in `expect` was seen and two more frames passed.
  Totals RunClient(const std::string& binary,
                   const std::vector<std::string>& args,
                   const std::vector<std::string>& expect,
                   std::string* out = nullptr, pid_t* pid = nullptr) {
    Totals totals;
    Child client(binary, args);
    if (pid != nullptr) *pid = client.pid();
    std::string output;
    const int rc = client.Finish(&output);
    EXPECT_EQ(rc, 0) << binary << " failed: " << output;
    if (out != nullptr) *out = output;
    int after = -1;
    for (int i = 0; i < 40 && after < 2; ++i) {
      absl::StatusOr<const fb::Frame*> frame = stream_->Next();
      if (!frame.ok()) {
        ADD_FAILURE() << frame.status();
        break;
      }
      totals.Add(*frame);
      bool all = true;
      for (const std::string& name : expect)
        all &= totals.Find(name) != nullptr;
      if (all) ++after;
    }
    for (const std::string& name : expect) {
      EXPECT_NE(totals.Find(name), nullptr)
          << name << " never arrived; malformed samples: "
          << absl::StrJoin(totals.malformed_samples, " | ");
    }
    return totals;
  }

  std::string NodeScript(const std::string& body) const {
    return absl::StrCat("const APP = '", app_socket_, "', PORT = ", udp_port_,
                        ";\n", body);
  }

  TempDir app_dir_;
  std::string app_socket_;
  int udp_port_ = 0;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<FrameStream> stream_;
};

std::string AiodogstatsdScript(int port) {
  return absl::StrCat(
      "import asyncio, aiodogstatsd\n"
      "async def main():\n"
      "    async with aiodogstatsd.Client(host='127.0.0.1', port=",
      port,
      ", constant_tags={'lib': 'aiodogstatsd'}) as c:\n"
      "        c.increment('ai.req', value=3, tags={'route': '/a'})\n"
      "        c.increment('ai.req', value=2, tags={'route': '/a'})\n"
      "        c.gauge('ai.temp', value=10)\n"
      "        c.gauge('ai.temp', value=-7)\n"
      "        c.histogram('ai.size', value=5)\n"
      "        c.histogram('ai.size', value=9)\n"
      "        c.distribution('ai.dist', value=2.5)\n"
      "        c.timing('ai.lat', value=12)\n"
      "asyncio.run(main())\n");
}

// aiodogstatsd (UDP only) sends a negative gauge as "-7|g" and means "set":
// the default --app_signed_gauge=set gives what its users expect.
TEST_F(AppMetricsClientsTest, AiodogstatsdOverUdpSignedGaugeSets) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_CLIENT("/usr/lib/python3/dist-packages/aiodogstatsd",
                          "Debian package python3-aiodogstatsd");
  StartAgent();
  const Totals t =
      RunClient("/usr/bin/python3", {"-c", AiodogstatsdScript(udp_port_)},
                {"ai.req", "ai.temp", "ai.size", "ai.dist", "ai.lat"});
  EXPECT_EQ(t.malformed, 0u) << absl::StrJoin(t.malformed_samples, " | ");
  const Seen* req = t.Find("ai.req");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->type, fb::AppMetricType::Counter);
  EXPECT_EQ(req->value, 5.0);
  EXPECT_EQ(req->pid, 0u);  // UDP: the sender is unknown
  EXPECT_EQ(req->tags, (std::map<std::string, std::string>{
                           {"lib", "aiodogstatsd"}, {"route", "/a"}}));
  const Seen* temp = t.Find("ai.temp");
  ASSERT_NE(temp, nullptr);
  EXPECT_EQ(temp->type, fb::AppMetricType::Gauge);
  EXPECT_EQ(temp->value, -7.0);
  const Seen* size = t.Find("ai.size");
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->type, fb::AppMetricType::Histogram);
  EXPECT_EQ(size->count, 2.0);
  EXPECT_EQ(size->sum, 14.0);
  EXPECT_EQ(size->min, 5.0);
  EXPECT_EQ(size->max, 9.0);
  EXPECT_EQ(t.Find("ai.dist")->type, fb::AppMetricType::Distribution);
  EXPECT_EQ(t.Find("ai.dist")->sum, 2.5);
  EXPECT_EQ(t.Find("ai.lat")->type, fb::AppMetricType::Timing);
  EXPECT_EQ(t.Find("ai.lat")->sum, 12.0);
}

// The same client under --app_signed_gauge=delta (etsy StatsD semantics):
// 10 then -7 leaves 3.
TEST_F(AppMetricsClientsTest, AiodogstatsdSignedGaugeUnderDeltaFlag) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_CLIENT("/usr/lib/python3/dist-packages/aiodogstatsd",
                          "Debian package python3-aiodogstatsd");
  StartAgent({"--app_signed_gauge=delta"});
  const Totals t =
      RunClient("/usr/bin/python3", {"-c", AiodogstatsdScript(udp_port_)},
                {"ai.req", "ai.temp"});
  ASSERT_NE(t.Find("ai.temp"), nullptr);
  EXPECT_EQ(t.Find("ai.temp")->value, 3.0);
  EXPECT_EQ(t.malformed, 0u);
}

// Net::Statsd (etsy StatsD flavour, UDP).
TEST_F(AppMetricsClientsTest, NetStatsdPerlOverUdp) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_CLIENT("/usr/share/perl5/Net/Statsd.pm",
                          "Debian package libnet-statsd-perl");
  StartAgent();
  const std::string script = absl::StrCat(
      "use strict; use Net::Statsd;\n"
      "$Net::Statsd::HOST = '127.0.0.1'; $Net::Statsd::PORT = ",
      udp_port_,
      ";\n"
      "Net::Statsd::increment('pl.hits') for 1..3;\n"
      "Net::Statsd::update_stats('pl.hits', 4);\n"
      "Net::Statsd::decrement('pl.hits');\n"
      "Net::Statsd::timing('pl.lat', 15);\n"
      "Net::Statsd::timing('pl.lat', 25);\n"
      "Net::Statsd::gauge('pl.depth' => 5.5);\n");
  const Totals t = RunClient("/usr/bin/perl", {"-e", script},
                             {"pl.hits", "pl.lat", "pl.depth"});
  EXPECT_EQ(t.malformed, 0u) << absl::StrJoin(t.malformed_samples, " | ");
  ASSERT_NE(t.Find("pl.hits"), nullptr);
  EXPECT_EQ(t.Find("pl.hits")->value, 3.0 + 4 - 1);
  EXPECT_EQ(t.Find("pl.hits")->samples, 5u);
  ASSERT_NE(t.Find("pl.lat"), nullptr);
  EXPECT_EQ(t.Find("pl.lat")->count, 2.0);
  EXPECT_EQ(t.Find("pl.lat")->sum, 40.0);
  ASSERT_NE(t.Find("pl.depth"), nullptr);
  EXPECT_EQ(t.Find("pl.depth")->value, 5.5);
}

// hot-shots over the Unix socket (its optional native unix-dgram module,
// built by npm ci; UDP when that build failed, said in the log) with
// DD_EXTERNAL_ENV and DD_CARDINALITY set, so every line carries the
// DogStatsD v1.5 |e: and v1.6 |card: fields (and |c: container id), and
// a tag value with a space. All of it used to be dropped as malformed.
TEST_F(AppMetricsClientsTest, HotShotsWithOriginFieldsOverUds) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_CLIENT((kNodeModules + "/hot-shots/package.json").c_str(),
                          "npm ci in tests/clients");
  StartAgent();
  const std::string body = R"js(
const StatsD = require('hot-shots');
let uds = true;
try { require('unix-dgram'); } catch (e) { uds = false; }
console.log(uds ? 'transport uds' : 'transport udp (unix-dgram did not build)');
// The premise: this client, configured by the environment, sends |e: and |card:.
const probe = new StatsD({ mock: true });
probe.increment('probe');
console.log('sends ' + probe.mockBuffer[0]);
const c = new StatsD(Object.assign(
    uds ? { protocol: 'uds', path: APP } : { host: '127.0.0.1', port: PORT },
    { globalTags: { lib: 'hot-shots' },
      errorHandler: (e) => { console.log('error ' + e); process.exitCode = 1; } }));
c.increment('hs.req', 2, { route: '/a', team: 'core infra' });
c.increment('hs.req', 1, { route: '/a', team: 'core infra' });
c.gauge('hs.depth', 10);
c.gauge('hs.depth', -7);
c.histogram('hs.size', 5);
c.distribution('hs.dist', 2.5);
c.timing('hs.lat', 12);
c.set('hs.users', 'alice');
c.set('hs.users', 'bob');
c.set('hs.users', 'alice');
c.close((err) => { if (err) { console.log('close ' + err); process.exitCode = 1; } });
)js";
  setenv("NODE_PATH", kNodeModules.c_str(), 1);
  setenv("DD_EXTERNAL_ENV", "it-false,cn-web,pu-1234", 1);
  setenv("DD_CARDINALITY", "high", 1);
  std::string out;
  pid_t pid = 0;
  const Totals t = RunClient(
      "/usr/bin/node", {"-e", NodeScript(body)},
      {"hs.req", "hs.depth", "hs.size", "hs.dist", "hs.lat", "hs.users"}, &out,
      &pid);
  unsetenv("DD_EXTERNAL_ENV");
  unsetenv("DD_CARDINALITY");
  std::printf("hot-shots: %s", out.c_str());
  EXPECT_NE(out.find("|e:it-false,cn-web,pu-1234"), std::string::npos) << out;
  EXPECT_NE(out.find("|card:high"), std::string::npos) << out;
  const bool uds = out.find("transport uds") != std::string::npos;
  if (!uds && InCi()) ADD_FAILURE() << "CI=true but hot-shots fell back to UDP";
  EXPECT_EQ(t.malformed, 0u) << absl::StrJoin(t.malformed_samples, " | ");
  const Seen* req = t.Find("hs.req");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->value, 3.0);
  EXPECT_EQ(req->pid, uds ? static_cast<uint32_t>(pid) : 0u);
  EXPECT_EQ(
      req->tags,
      (std::map<std::string, std::string>{
          {"lib", "hot-shots"}, {"route", "/a"}, {"team", "core infra"}}));
  ASSERT_NE(t.Find("hs.depth"), nullptr);
  EXPECT_EQ(t.Find("hs.depth")->value, -7.0);  // hot-shots means "set"
  EXPECT_EQ(t.Find("hs.size")->sum, 5.0);
  EXPECT_EQ(t.Find("hs.dist")->type, fb::AppMetricType::Distribution);
  EXPECT_EQ(t.Find("hs.lat")->sum, 12.0);
  ASSERT_NE(t.Find("hs.users"), nullptr);
  EXPECT_EQ(t.Find("hs.users")->distinct, 2u);
}

// node-statsd and statsd-client (etsy flavour, UDP), in one node process.
TEST_F(AppMetricsClientsTest, NodeStatsdAndStatsdClientOverUdp) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_CLIENT((kNodeModules + "/node-statsd/package.json").c_str(),
                          "npm ci in tests/clients");
  PERFWIRE_REQUIRE_CLIENT(
      (kNodeModules + "/statsd-client/package.json").c_str(),
      "npm ci in tests/clients");
  StartAgent();
  const std::string body = R"js(
const NodeStatsD = require('node-statsd');
const a = new NodeStatsD({ host: '127.0.0.1', port: PORT });
a.increment('ns.hits');
a.increment('ns.hits', 4);
a.gauge('ns.depth', 4);
a.timing('ns.lat', 7);
const StatsdClient = require('statsd-client');
const b = new StatsdClient({ host: '127.0.0.1', port: PORT });
b.increment('sc.hits', 5);
b.increment('sc.hits');
b.gauge('sc.depth', 6);
b.timing('sc.lat', 8);
b.histogram('sc.size', 3);
// Both send asynchronously: give the sends a moment, then close.
setTimeout(() => { a.close(); b.close(); }, 300);
)js";
  setenv("NODE_PATH", kNodeModules.c_str(), 1);
  const Totals t = RunClient("/usr/bin/node", {"-e", NodeScript(body)},
                             {"ns.hits", "ns.depth", "ns.lat", "sc.hits",
                              "sc.depth", "sc.lat", "sc.size"});
  EXPECT_EQ(t.malformed, 0u) << absl::StrJoin(t.malformed_samples, " | ");
  ASSERT_NE(t.Find("ns.hits"), nullptr);
  EXPECT_EQ(t.Find("ns.hits")->value, 5.0);
  EXPECT_EQ(t.Find("ns.depth")->value, 4.0);
  EXPECT_EQ(t.Find("ns.lat")->sum, 7.0);
  ASSERT_NE(t.Find("sc.hits"), nullptr);
  EXPECT_EQ(t.Find("sc.hits")->value, 6.0);
  EXPECT_EQ(t.Find("sc.depth")->value, 6.0);
  EXPECT_EQ(t.Find("sc.lat")->sum, 8.0);
  EXPECT_EQ(t.Find("sc.size")->type, fb::AppMetricType::Histogram);
}

}  // namespace
}  // namespace perfwire::testing
