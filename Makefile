# perfwire front door. CMake does the build; this file installs what is
MAKEFLAGS += --no-print-directory
# missing, builds, and runs. Privileged steps re-run through sudo when needed.

BUILD_DIR ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
INTERVAL  ?= 1s
SOCKET    ?= /run/perfwire/perfwire.sock
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and tests need.
DEB_PACKAGES := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libabsl-dev \
  flatbuffers-compiler libflatbuffers-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libclang-rt-14-dev cmake make g++ pkg-config procps linux-perf iproute2 \
  prometheus prometheus-node-exporter stress-ng python3-flatbuffers python3-pandas python3-matplotlib \
  libncurses-dev tmux

ifeq ($(shell id -u),0)
  SUDO :=
else
  SUDO := $(shell command -v sudo 2>/dev/null)
endif

.PHONY: all build deps run test unit-test clean install format bench

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

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts the agent, shows live per-thread data until Ctrl-C, then stops it.
run: deps build
	@$(SUDO) env BUILD_DIR=$(BUILD_DIR) INTERVAL=$(INTERVAL) SOCKET=$(SOCKET) \
	  sh clients/run_live.sh

# Everything: unit tests, then (as root) the BPF integration tests.
test: deps build
	cd $(BUILD_DIR) && $(SUDO) env CI=$${CI:-} ctest --output-on-failure --timeout 600

# Unit tests only: no root needed.
unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -E '^integration\.'

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

format:
	clang-format -i --style=Google $$(git ls-files '*.cc' '*.h' '*.c' | grep -v '^vmlinux/')

clean:
	rm -rf $(BUILD_DIR)

# Benchmarks (tests/bench/run_bench.py; results in docs/BENCHMARKS.md). Root:
# installs the peers compared against (a failed install is a skipped observer,
# never fatal), builds, runs. QUICK=1 for a 2-pair development run.
BENCH_PEERS := bpftrace libbpf-tools linux-perf sysstat
BENCH_TARGETS := perfwired perfwire bench_w2_faults bench_w3b_token_ring bench_threads \
  bench_frames perfwire_gbench
BENCH_VARS  := QUICK PAIRS SCALE WORKLOADS OBSERVERS SKIP PERFWIRED_DEFAULT_FLAGS \
  PERFWIRED_ALL_FLAGS SELF_SECONDS SELF_POPULATIONS SELF_INTERVALS BENCH_OUT PERFWIRED \
  W1_LOOPS W2_FAULTS W3_HANDOFFS W4_SECONDS E2E_SAMPLES_1S E2E_SAMPLES_100MS START_TIMEOUT \
  SELF_BUDGET_SECONDS BPF_STATS_REPEATS
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
