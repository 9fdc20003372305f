// badname: names its only thread "\xff\xfe" (bytes that are not UTF-8; any
// unprivileged process may do this, #15.1) and burns CPU for --ms of wall
// time, so that it shows up in frames. Prints "badname pid=N" when named.

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

int main(int argc, char** argv) {
  long ms = 3000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--ms=", 5) == 0) ms = std::atol(argv[i] + 5);
  }
  if (prctl(PR_SET_NAME, "\xff\xfe", 0, 0, 0) != 0) {
    std::perror("prctl(PR_SET_NAME)");
    return 1;
  }
  std::printf("badname pid=%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 100000; ++i) x = x + 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 +
               (now.tv_nsec - start.tv_nsec) / 1000000 <
           ms);
  return 0;
}
