# PhaseTower: the README's two commands.
#   make run   installs what is missing, builds, trains on Fashion-MNIST and prints test accuracy
#   make test  installs, builds, runs the ctest suite, then the suite again under ASan+UBSan,
#              again built with clang, and each fuzz target for 25 s (make fuzz-short)
#              (python3-numpy is there for the test that runs the checkpoint doc's reader)
# make fuzz builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz) and runs
# each for FUZZ_SECONDS (600) with its seeds; it fails on any crash, sanitizer report, leak,
# timeout or allocation over 1 GB, and prints each target's executions and coverage
# (FUZZ_TARGETS="idx png" picks targets; FUZZ_FLAGS adds libFuzzer options: tests/fuzz/run.sh).
# Also: make build, make bench (adds python3-torch for the baseline), make bench-memory
# (the episodic memory against the MLP: composition, OOD, robustness, scale), make
# bench-footprint (footprint, int8 export, sparse inference, liquid topology), make
# bench-phasor (phasor MLPs and TPAM against the MLP), bench-field (the field
# against its PyTorch anchor), bench-atlas (the text atlas on books of the King
# James Bible from Debian's bible-kjv, against gzip and xz), bench-reservoir (the echo-state
# network on the shared reservoir series, RESERVOIR_DATA), make clean.
BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 25
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
DATA       ?= /usr/share/datasets/fashion-mnist
DEPS       := cmake make gcc pkg-config libopenblas-dev liblapacke-dev libjansson-dev zlib1g-dev libpng-dev libcairo2-dev \
              dataset-fashion-mnist python3-numpy clang libclang-rt-14-dev
BENCH_DEPS := python3-torch bible-kjv
JOBS       ?= 2

.PHONY: all deps bench-deps build build-asan build-clang build-fuzz run test test-asan fuzz fuzz-short bench \
        bench-memory bench-footprint bench-phasor bench-field bench-atlas bench-reservoir clean

all: build

# apt-get only what dpkg does not already have (quiet and fast when all present).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEPS))

bench-deps: deps
	$(call apt_install,$(BENCH_DEPS))

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPT_SANITIZE=ON -DPT_NATIVE=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# The whole build and suite with the second compiler (CC only counts when the
# directory is first configured, hence CMAKE_C_COMPILER too).
build-clang: deps
	cmake -S . -B $(CLANG_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DPT_WERROR=ON
	cmake --build $(CLANG_BUILD) -j$(JOBS)

# Only the fuzz targets (and the library built again with the sanitizers) in this one.
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPT_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz

fuzz: build-fuzz
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short: build-fuzz
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SHORT_SECONDS) $(FUZZ_TARGETS)

run: build
	$(BUILD)/phasetower train --data $(DATA)

test: build build-asan build-clang build-fuzz
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j$(JOBS) -LE slow
	cd $(CLANG_BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) --no-print-directory fuzz-short

bench: build bench-deps
	bench/bench_core.sh --data $(DATA)

bench-memory: build bench-deps
	bench/bench_memory.sh --data $(DATA)

bench-footprint: build bench-deps
	bench/bench_footprint.sh --data $(DATA)

bench-phasor: build bench-deps
	bench/bench_phasor.sh --data $(DATA)

# the field against its PyTorch anchor (about 20 min; FIELD_FULL=1 adds the
# 10-epoch accuracy run, hours on one core)
bench-field: build bench-deps
	bench/bench_field.sh --data $(DATA) $(if $(filter 1,$(FIELD_FULL)),--full,)

bench-atlas: build bench-deps
	bench/bench_atlas.sh

# the echo-state network on the shared reservoir series (issue 19; about a minute)
RESERVOIR_DATA ?= /work/shared/data/reservoir
bench-reservoir: build
	bench/bench_reservoir.sh $(BUILD)/phasetower $(RESERVOIR_DATA)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
