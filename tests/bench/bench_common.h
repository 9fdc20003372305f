#ifndef PERFWIRE_TESTS_BENCH_BENCH_COMMON_H_
#define PERFWIRE_TESTS_BENCH_BENCH_COMMON_H_

// Small helpers shared by the benchmark workloads (tests/bench/*.cc).
// Workloads print one line of `key=value` pairs on stdout; the first key is
// the figure of merit the driver (run_bench.py) reads.

#include <sched.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace perfwire::bench {

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

// --name=value flags; unknown flags are fatal so typos do not go unnoticed.
class Flags {
 public:
  Flags(int argc, char** argv) : argc_(argc), argv_(argv) {}
  int64_t Int(std::string_view name, int64_t def) const {
    const char* v = Find(name);
    return v ? std::strtoll(v, nullptr, 0) : def;
  }
  double Double(std::string_view name, double def) const {
    const char* v = Find(name);
    return v ? std::strtod(v, nullptr) : def;
  }
  std::string Str(std::string_view name, std::string def) const {
    const char* v = Find(name);
    return v ? std::string(v) : def;
  }
  // Exits with a message if any argument is not one of `known`.
  void CheckKnown(std::initializer_list<std::string_view> known) const {
    for (int i = 1; i < argc_; ++i) {
      std::string_view a(argv_[i]);
      bool ok = false;
      for (std::string_view k : known) {
        if (a.size() > k.size() + 3 && a.substr(0, 2) == "--" &&
            a.substr(2, k.size()) == k && a[2 + k.size()] == '=') {
          ok = true;
        }
      }
      if (!ok) {
        std::fprintf(stderr, "%s: unknown argument %s\n", argv_[0], argv_[i]);
        std::exit(2);
      }
    }
  }

 private:
  const char* Find(std::string_view name) const {
    for (int i = 1; i < argc_; ++i) {
      std::string_view a(argv_[i]);
      if (a.size() > name.size() + 3 && a.substr(0, 2) == "--" &&
          a.substr(2, name.size()) == name && a[2 + name.size()] == '=') {
        return argv_[i] + 3 + name.size();
      }
    }
    return nullptr;
  }
  int argc_;
  char** argv_;
};

// Pins the calling thread (and threads it creates later) to `cpu`; -1 = no pin.
inline void PinTo(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(1);
  }
}

}  // namespace perfwire::bench

#endif  // PERFWIRE_TESTS_BENCH_BENCH_COMMON_H_
