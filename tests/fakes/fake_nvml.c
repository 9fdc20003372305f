// A stand-in for libnvidia-ml.so.1 with one GPU, so the gpu source's NVML
// path is tested on machines without NVIDIA hardware. Same symbol names and
// calling conventions as nvml.h; values are fixed.

#include <string.h>

typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct {
  unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;

static int initialized;

int nvmlInit_v2(void) {
  initialized = 1;
  return 0;
}
int nvmlShutdown(void) {
  initialized = 0;
  return 0;
}
const char* nvmlErrorString(int r) { return r ? "fake error" : "success"; }
int nvmlDeviceGetCount_v2(unsigned int* n) {
  *n = initialized ? 1 : 0;
  return initialized ? 0 : 1;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) {
  *d = (nvmlDevice_t)(unsigned long)(i + 1);
  return i == 0 ? 0 : 2;
}
int nvmlDeviceGetName(nvmlDevice_t d, char* name, unsigned int len) {
  (void)d;
  strncpy(name, "Fake GPU 9000", len);
  return 0;
}
int nvmlDeviceGetUUID(nvmlDevice_t d, char* uuid, unsigned int len) {
  (void)d;
  strncpy(uuid, "GPU-00000000-fake", len);
  return 0;
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  (void)d;
  u->gpu = 42;
  u->memory = 17;
  return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  (void)d;
  m->total = 16ull << 30;
  m->used = 3ull << 30;
  m->free = m->total - m->used;
  return 0;
}
int nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int* t) {
  (void)d;
  *t = 61;
  return sensor == 0 ? 0 : 2;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* mw) {
  (void)d;
  *mw = 123456;
  return 0;
}
int nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int* mhz) {
  (void)d;
  if (type == 1) {
    *mhz = 1800;
    return 0;
  }
  return 3;  // NVML_ERROR_NOT_SUPPORTED for the memory clock
}
