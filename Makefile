# PhaseTower: the README's two commands.
#   make run   installs what is missing, builds, trains on Fashion-MNIST and prints test accuracy
#   make test  installs, builds, runs the ctest suite, then the suite again under ASan+UBSan
#              (python3-numpy is there for the test that runs the checkpoint doc's reader)
# Also: make build, make bench (adds python3-torch for the baseline), make bench-memory
# (the episodic memory against the MLP: composition, OOD, robustness, scale), make
# bench-footprint (footprint, int8 export, sparse inference, liquid topology), make
# bench-phasor (phasor MLPs and TPAM against the MLP), make clean.
BUILD      ?= build
ASAN_BUILD ?= build-asan
DATA       ?= /usr/share/datasets/fashion-mnist
DEPS       := cmake make gcc pkg-config libopenblas-dev liblapacke-dev libjansson-dev zlib1g-dev libpng-dev \
              dataset-fashion-mnist python3-numpy
BENCH_DEPS := python3-torch
JOBS       ?= 2

.PHONY: all deps bench-deps build build-asan run test test-asan bench bench-memory bench-footprint bench-phasor clean

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

run: build
	$(BUILD)/phasetower train --data $(DATA)

test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 ctest --output-on-failure -j$(JOBS) -LE slow

bench: build bench-deps
	bench/bench_core.sh --data $(DATA)

bench-memory: build bench-deps
	bench/bench_memory.sh --data $(DATA)

bench-footprint: build bench-deps
	bench/bench_footprint.sh --data $(DATA)

bench-phasor: build bench-deps
	bench/bench_phasor.sh --data $(DATA)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
