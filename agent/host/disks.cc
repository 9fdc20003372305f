#include "agent/host/disks.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "base/clock.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "disks";
constexpr uint64_t kSectorBytes =
    512;  // diskstats sectors are always 512 bytes
constexpr uint64_t kNsPerMs = 1000000;  // diskstats times are milliseconds

}  // namespace

bool IsVirtualDiskName(absl::string_view name) {
  return absl::StartsWith(name, "loop") || absl::StartsWith(name, "ram") ||
         absl::StartsWith(name, "zram");
}

absl::Status ParseDiskStats(absl::string_view text, std::vector<DiskStat>& out,
                            int* skipped_lines) {
  if (absl::Status s = CheckNotTruncated("/proc/diskstats", text); !s.ok())
    return s;
  size_t n = 0;  // reuse the entries' name buffers
  int skipped = 0, lines_seen = 0;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    FieldSplitter f(line);
    absl::string_view major, minor, name;
    if (!f.Next(major)) continue;  // blank line
    ++lines_seen;
    if (!f.Next(minor) || !f.Next(name)) {
      ++skipped;
      continue;
    }
    uint64_t v[11];
    int count = 0;
    absl::string_view field;
    bool bad = false;
    while (count < 11 && f.Next(field)) {
      if (!ParseU64(field, v[count])) {
        bad = true;
        break;
      }
      ++count;
    }
    if (bad || count < 11) {
      ++skipped;
      continue;
    }
    if (n == out.size()) out.emplace_back();
    DiskStat& d = out[n++];
    d.name.assign(name.data(), name.size());
    d.reads = v[0];
    d.read_sectors = v[2];
    d.read_ms = v[3];
    d.writes = v[4];
    d.write_sectors = v[6];
    d.write_ms = v[7];
    d.in_flight = v[8];
    d.io_ms = v[9];
    d.weighted_io_ms = v[10];
  }
  out.resize(n);
  if (skipped_lines) *skipped_lines = skipped;
  if (lines_seen > 0 && n == 0) {
    return MalformedFile("/proc/diskstats", 0,
                         "no line has the 14-field format");
  }
  return absl::OkStatus();
}

DiskSource::DiskSource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

absl::Status DiskSource::Read(std::vector<DiskStat>& out) {
  absl::Status s = fs_.ReadProc("/diskstats", buf_);
  if (s.ok()) s = ParseDiskStats(buf_, out);
  return s;
}

bool DiskSource::IsPartition(const std::string& name) {
  auto it = partition_cache_.find(name);
  if (it != partition_cache_.end()) return it->second;
  const bool part = fs_.Exists(
      absl::StrCat(fs_.sys_root(), "/class/block/", name, "/partition"));
  if (partition_cache_.size() > 4096) partition_cache_.clear();
  partition_cache_.emplace(name, part);
  return part;
}

absl::Status DiskSource::Start() {
  status_.available = false;
  absl::Status s = Read(prev_);
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  prev_ns_ = MonotonicNs();
  status_.available = true;
  status_.reason = options_.include_virtual_disks
                       ? "/proc/diskstats, all devices"
                       : "/proc/diskstats; loop, ram, zram skipped";
  return absl::OkStatus();
}

void DiskSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                         FrameSections& sections) {
  absl::Status s = Read(cur_);
  const uint64_t now_ns = MonotonicNs();
  if (!s.ok()) {
    MarkBroken(status_, s);
    return;
  }
  const uint64_t dt = now_ns - prev_ns_;
  const double interval_ms = static_cast<double>(dt) / 1e6;
  std::vector<flatbuffers::Offset<fb::HostDisk>> disks;
  for (size_t i = 0; i < cur_.size(); ++i) {
    const DiskStat& c = cur_[i];
    if (!options_.include_virtual_disks && IsVirtualDiskName(c.name)) continue;
    // Same order across reads unless devices come and go.
    const DiskStat* p =
        i < prev_.size() && prev_[i].name == c.name ? &prev_[i] : nullptr;
    if (!p) {
      for (const DiskStat& q : prev_) {
        if (q.name == c.name) {
          p = &q;
          break;
        }
      }
    }
    if (!p) continue;  // appeared during the interval: next frame
    const uint64_t reads = CounterDelta(p->reads, c.reads);
    const uint64_t writes = CounterDelta(p->writes, c.writes);
    const auto name = fbb.CreateString(c.name);
    fb::HostDiskBuilder b(fbb);
    b.add_name(name);
    b.add_partition(IsPartition(c.name));
    b.add_read_bytes_per_sec(RatePerSec(p->read_sectors, c.read_sectors, dt) *
                             kSectorBytes);
    b.add_write_bytes_per_sec(
        RatePerSec(p->write_sectors, c.write_sectors, dt) * kSectorBytes);
    b.add_read_op_per_sec(RatePerSec(p->reads, c.reads, dt));
    b.add_write_op_per_sec(RatePerSec(p->writes, c.writes, dt));
    // diskstats counts milliseconds; the average keeps its sub-ms part.
    b.add_read_latency_avg_ns(
        reads ? CounterDelta(p->read_ms, c.read_ms) * 1000000 / reads : 0);
    b.add_write_latency_avg_ns(
        writes ? CounterDelta(p->write_ms, c.write_ms) * 1000000 / writes : 0);
    b.add_in_flight_count(static_cast<uint32_t>(c.in_flight));
    double util =
        interval_ms > 0
            ? 100.0 * static_cast<double>(CounterDelta(p->io_ms, c.io_ms)) /
                  interval_ms
            : 0.0;
    b.add_utilization_percent(static_cast<float>(util > 100.0 ? 100.0 : util));
    b.add_read_total_bytes(c.read_sectors * kSectorBytes);
    b.add_write_total_bytes(c.write_sectors * kSectorBytes);
    b.add_read_op_total_count(c.reads);
    b.add_write_op_total_count(c.writes);
    b.add_read_time_total_ns(c.read_ms * kNsPerMs);
    b.add_write_time_total_ns(c.write_ms * kNsPerMs);
    b.add_io_time_total_ns(c.io_ms * kNsPerMs);
    b.add_io_weighted_time_total_ns(c.weighted_io_ms * kNsPerMs);
    disks.push_back(b.Finish());
  }
  sections.Set(fb::Frame::VT_DISKS, fbb.CreateVector(disks));
  std::swap(prev_, cur_);
  prev_ns_ = now_ns;
}

}  // namespace perfwire
