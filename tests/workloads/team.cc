// team: a leader thread named "team-leader" that only waits, and --threads
// workers named "team-worker-N" that burn CPU for --ms of wall time: the
// process's name is its leader's, which the workers' rows must not replace.
// Prints "team pid=N" once every thread is named, and at the end
// "team cpu_ns=N": the whole process's CPU time (getrusage RUSAGE_SELF).

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

long ElapsedMs(const timespec& start) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start.tv_sec) * 1000 +
         (now.tv_nsec - start.tv_nsec) / 1000000;
}

}  // namespace

int main(int argc, char** argv) {
  long ms = 3000;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--ms=", 5) == 0) ms = std::atol(argv[i] + 5);
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    }
  }
  prctl(PR_SET_NAME, "team-leader", 0, 0, 0);
  std::atomic<int> named{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      const std::string name = "team-worker-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      ++named;
      timespec start;
      clock_gettime(CLOCK_MONOTONIC, &start);
      volatile unsigned long x = 0;
      while (ElapsedMs(start) < ms) {
        for (int j = 0; j < 100000; ++j) x = x + 1;
      }
    });
  }
  while (named.load() < threads) usleep(1000);
  std::printf("team pid=%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  for (auto& w : workers) w.join();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const long long ns =
      (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
  std::printf("team cpu_ns=%lld\n", ns);
  return 0;
}
