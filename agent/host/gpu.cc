#include "agent/host/gpu.h"

#include <dlfcn.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/log.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

// The few NVML declarations used (nvml.h, stable ABI since NVML 5).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr int kNvmlTemperatureGpu = 0;
constexpr int kNvmlClockSm = 1;
constexpr int kNvmlClockMem = 2;

}  // namespace

struct GpuSource::Nvml {
  void* lib = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*device_count)(unsigned int*) = nullptr;
  nvmlReturn_t (*device_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned int*) = nullptr;
  bool initialized = false;

  ~Nvml() {
    if (initialized && shutdown) shutdown();
    if (lib) dlclose(lib);
  }
  template <typename T>
  bool Load(T& fn, const char* symbol) {
    fn = reinterpret_cast<T>(dlsym(lib, symbol));
    return fn != nullptr;
  }
  std::string Error(nvmlReturn_t r) const {
    return error_string ? error_string(r) : absl::StrCat("NVML error ", r);
  }
};

GpuSource::GpuSource(HostOptions options) : options_(std::move(options)) {
  status_.name = "gpu";
  status_.hook = "dlopen";
}

GpuSource::~GpuSource() = default;

absl::Status GpuSource::Start() {
  status_.available = false;
  auto nvml = std::make_unique<Nvml>();
  nvml->lib = dlopen(options_.nvml_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!nvml->lib) {
    status_.reason = absl::StrCat(options_.nvml_library, " not found");
    return absl::UnavailableError(status_.reason);
  }
  const bool ok =
      nvml->Load(nvml->init, "nvmlInit_v2") &&
      nvml->Load(nvml->shutdown, "nvmlShutdown") &&
      nvml->Load(nvml->error_string, "nvmlErrorString") &&
      nvml->Load(nvml->device_count, "nvmlDeviceGetCount_v2") &&
      nvml->Load(nvml->device_by_index, "nvmlDeviceGetHandleByIndex_v2") &&
      nvml->Load(nvml->name, "nvmlDeviceGetName") &&
      nvml->Load(nvml->uuid, "nvmlDeviceGetUUID") &&
      nvml->Load(nvml->utilization, "nvmlDeviceGetUtilizationRates") &&
      nvml->Load(nvml->memory, "nvmlDeviceGetMemoryInfo") &&
      nvml->Load(nvml->temperature, "nvmlDeviceGetTemperature") &&
      nvml->Load(nvml->power, "nvmlDeviceGetPowerUsage") &&
      nvml->Load(nvml->clock, "nvmlDeviceGetClockInfo");
  if (!ok) {
    status_.reason = absl::StrCat(options_.nvml_library,
                                  ": missing NVML symbol: ", dlerror());
    return absl::UnavailableError(status_.reason);
  }
  const nvmlReturn_t r = nvml->init();
  if (r != kNvmlSuccess) {
    status_.reason = absl::StrCat("nvmlInit_v2: ", nvml->Error(r));
    return absl::UnavailableError(status_.reason);
  }
  nvml->initialized = true;
  unsigned int count = 0;
  nvml->device_count(&count);
  nvml_ = std::move(nvml);
  status_.available = true;
  status_.reason =
      absl::StrCat("NVML via ", options_.nvml_library, ", ", count, " devices");
  return absl::OkStatus();
}

void GpuSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                        FrameSections& sections) {
  Nvml& n = *nvml_;
  unsigned int count = 0;
  const nvmlReturn_t r = n.device_count(&count);
  if (r != kNvmlSuccess) {
    MarkBroken(status_, absl::UnavailableError(absl::StrCat(
                            "nvmlDeviceGetCount_v2: ", n.Error(r))));
    return;
  }
  std::vector<flatbuffers::Offset<fb::GpuDevice>> devices;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t dev;
    if (n.device_by_index(i, &dev) != kNvmlSuccess) continue;
    char name[96] = {0}, uuid[96] = {0};
    n.name(dev, name, sizeof(name) - 1);
    n.uuid(dev, uuid, sizeof(uuid) - 1);
    const auto name_off = fbb.CreateString(name);
    const auto uuid_off = fbb.CreateString(uuid);
    fb::GpuDeviceBuilder b(fbb);
    b.add_index(i);
    b.add_name(name_off);
    b.add_uuid(uuid_off);
    nvmlUtilization_t util;
    if (n.utilization(dev, &util) == kNvmlSuccess) {
      b.add_utilization_percent(static_cast<float>(util.gpu));
      b.add_memory_utilization_percent(static_cast<float>(util.memory));
    }
    nvmlMemory_t mem;
    if (n.memory(dev, &mem) == kNvmlSuccess) {
      b.add_memory_used_bytes(mem.used);
      b.add_memory_total_bytes(mem.total);
    }
    unsigned int v;
    if (n.temperature(dev, kNvmlTemperatureGpu, &v) == kNvmlSuccess) {
      b.add_temperature_celsius(static_cast<float>(v));
    }
    if (n.power(dev, &v) == kNvmlSuccess)
      b.add_power_watts(static_cast<float>(v) / 1000.0f);
    if (n.clock(dev, kNvmlClockSm, &v) == kNvmlSuccess) b.add_sm_clock_mhz(v);
    if (n.clock(dev, kNvmlClockMem, &v) == kNvmlSuccess)
      b.add_memory_clock_mhz(v);
    devices.push_back(b.Finish());
  }
  sections.Set(fb::Frame::VT_GPUS, fbb.CreateVector(devices));
}

}  // namespace perfwire
