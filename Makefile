# perfwire front door. CMake does the build; this file installs what is
MAKEFLAGS += --no-print-directory
# missing, builds, and runs. Privileged steps re-run through sudo when needed.

BUILD_DIR ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
INTERVAL  ?= 1s
SOCKET    ?= /run/perfwire/perfwire.sock
# Extra perfwired flags for `make run`, e.g. make run ARGS="--contention".
ARGS      ?=
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# CI's extra build dirs (make check): clang + -Wthread-safety, and ASan+UBSan.
CLANG_BUILD_DIR    ?= build-clang
SANITIZE_BUILD_DIR ?= build-sanitize
# ccache when the machine has it; never required.
CCACHE    := $(shell command -v ccache 2>/dev/null)
LAUNCHER  := $(if $(CCACHE),-DCMAKE_C_COMPILER_LAUNCHER=$(CCACHE) -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
# What check-format checks: every tracked C/C++ file but the generated vmlinux.h.
FORMAT_FILES ?= $(shell git ls-files '*.cc' '*.h' '*.c' 2>/dev/null | grep -v '^vmlinux/')

# Debian packages the build and tests need.
DEB_PACKAGES := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libabsl-dev \
  flatbuffers-compiler libflatbuffers-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libclang-rt-14-dev cmake make g++ pkg-config procps linux-perf iproute2 \
  prometheus prometheus-node-exporter stress-ng python3-flatbuffers python3-pandas python3-matplotlib \
  libncurses-dev tmux python3-aiodogstatsd libnet-statsd-perl nlohmann-json3-dev clang-format

ifeq ($(shell id -u),0)
  SUDO :=
else
  SUDO := $(shell command -v sudo 2>/dev/null)
endif

.PHONY: all build deps client-deps run test unit-test clean install format bench check \
  check-format check-thread-safety check-sanitize

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@$(MAKE) client-deps

# Real StatsD clients from npm for tests/integration/app_metrics_clients_test.cc,
# pinned by tests/clients/package-lock.json (hot-shots builds its optional
# native unix-dgram module for UDS with node-gyp). Node and npm come from
# Debian when missing.
CLIENTS_DIR := tests/clients
client-deps:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make deps: installing nodejs npm"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@if [ ! -f $(CLIENTS_DIR)/node_modules/.perfwire-installed ] || \
	    [ $(CLIENTS_DIR)/package-lock.json -nt $(CLIENTS_DIR)/node_modules/.perfwire-installed ]; then \
	  echo "make deps: npm ci in $(CLIENTS_DIR)"; \
	  cd $(CLIENTS_DIR) && npm ci --no-audit --no-fund --loglevel=error && \
	  touch node_modules/.perfwire-installed; \
	fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER)

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts the agent, shows live per-thread data until Ctrl-C, then stops it.
run: deps build
	@$(SUDO) env BUILD_DIR=$(BUILD_DIR) INTERVAL=$(INTERVAL) SOCKET=$(SOCKET) \
	  ARGS="$(ARGS)" sh clients/run_live.sh

# Everything: unit tests, then (as root) the BPF integration tests.
test: deps build
	cd $(BUILD_DIR) && $(SUDO) env CI=$${CI:-} ctest --output-on-failure --timeout 600

# Unit tests only: no root needed.
unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -E '^integration\.'

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

format:
	clang-format -i --style=Google $(FORMAT_FILES)

# What CI (.ci/run) runs: every step, even after one fails, then a summary
# with each step's time. `make test` stays the test command; the other steps
# check habits: formatting, the thread-safety annotations, sanitizers.
CHECK_STEPS := check-format test check-thread-safety check-sanitize
check:
	@failed=""; total=$$(date +%s); \
	for step in $(CHECK_STEPS); do \
	  start=$$(date +%s); \
	  echo "== make $$step"; \
	  $(MAKE) $$step || failed="$$failed $$step"; \
	  echo "== make $$step: $$(( $$(date +%s) - start )) s"; \
	done; \
	echo "== make check: $$(( $$(date +%s) - total )) s in all"; \
	if [ -n "$$failed" ]; then echo "== make check FAILED:$$failed"; exit 1; fi; \
	echo "== make check: every step passed"

# No diff from clang-format's Google style (`make format` fixes it).
check-format:
	@command -v clang-format >/dev/null || { echo "check-format: no clang-format (make deps)"; exit 1; }
	@if out=$$(clang-format --style=Google --dry-run -Werror $(FORMAT_FILES) 2>&1); then \
	  echo "check-format: $(words $(FORMAT_FILES)) files formatted"; \
	else \
	  echo "$$out" | head -n 30; \
	  bad=$$(echo "$$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u); \
	  echo "check-format: $$(echo "$$bad" | grep -c .) of $(words $(FORMAT_FILES)) files differ from clang-format --style=Google (make format fixes them):"; \
	  echo "$$bad" | sed 's/^/  /'; \
	  exit 1; \
	fi

# One clang++ build of everything with -Wthread-safety (-Werror is on), so
# every ABSL_GUARDED_BY is checked.
check-thread-safety: deps
	@[ -f $(CLANG_BUILD_DIR)/CMakeCache.txt ] || \
	  cmake -S . -B $(CLANG_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	    -DPERFWIRE_THREAD_SAFETY=ON $(LAUNCHER)
	cmake --build $(CLANG_BUILD_DIR) -j $(JOBS)

# The unit tests (not integration) under ASan+UBSan; the first finding stops
# the run with its report.
check-sanitize: deps
	@[ -f $(SANITIZE_BUILD_DIR)/CMakeCache.txt ] || \
	  cmake -S . -B $(SANITIZE_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DPERFWIRE_SANITIZE=address,undefined $(LAUNCHER)
	cmake --build $(SANITIZE_BUILD_DIR) -j $(JOBS) --target perfwire_unit_tests
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(SANITIZE_BUILD_DIR)/bin/perfwire_unit_tests

clean:
	rm -rf $(BUILD_DIR) $(CLANG_BUILD_DIR) $(SANITIZE_BUILD_DIR)

# Benchmarks (tests/bench/run_bench.py; results in docs/BENCHMARKS.md). Root:
# installs the peers compared against (a failed install is a skipped observer,
# never fatal), builds, runs. QUICK=1 for a 2-pair development run.
BENCH_PEERS := bpftrace libbpf-tools linux-perf sysstat
BENCH_TARGETS := perfwired perfwire bench_w2_faults bench_w3b_token_ring bench_threads \
  bench_frames perfwire_gbench
BENCH_VARS  := QUICK PAIRS SCALE WORKLOADS OBSERVERS SKIP PERFWIRED_DEFAULT_FLAGS \
  PERFWIRED_ALL_FLAGS SELF_SECONDS SELF_POPULATIONS SELF_INTERVALS BENCH_OUT PERFWIRED \
  W1_LOOPS W2_FAULTS W3_HANDOFFS W4_SECONDS E2E_SAMPLES_1S E2E_SAMPLES_100MS START_TIMEOUT \
  SELF_BUDGET_SECONDS BPF_STATS_REPEATS BENCH_BUDGETS
bench:
ifeq ($(shell id -u),0)
	@$(MAKE) deps $(BUILD_DIR)/CMakeCache.txt BUILD_DIR=$(BUILD_DIR)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target $(BENCH_TARGETS)
	@missing=$$(for p in $(BENCH_PEERS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq || true; \
	  for p in $$missing; do \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$p >/dev/null 2>&1 \
	      && echo "make bench: installed $$p" \
	      || echo "make bench: $$p failed to install: its observers will be skipped"; \
	  done; \
	fi
	env BUILD_DIR=$(BUILD_DIR) $(foreach v,$(BENCH_VARS),$(v)="$($(v))") \
	  /usr/bin/python3 tests/bench/run_bench.py
else
	@if [ -n "$(SUDO)" ]; then \
	  $(SUDO) $(MAKE) bench BUILD_DIR=$(BUILD_DIR) $(foreach v,$(BENCH_VARS),$(v)="$($(v))"); \
	else echo "make bench needs root (BPF, sysctls) and there is no sudo"; exit 1; fi
endif
