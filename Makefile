# The two commands a new user needs (see README):
#   make run   install what is missing, build, and run lore on its embedded defaults
#   make test  install what is missing, build with sanitizers, run every test and fuzz briefly
# Everything else is plain CMake under build/.

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 10
# Empty: lore's default data directory (~/.local/share/lore); see docs/configuration.md.
DATA_DIR ?=
PREFIX ?= /usr/local

.PHONY: all deps build build-clang install run test test-unit test-fuzz test-release \
        smoke-run format-check bench format clean

all: build

deps:
	@bash scripts/deps.sh

build/release/Makefile:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null

build: deps build/release/Makefile
	cmake --build build/release -j$(JOBS)

# The server on its embedded defaults (sample data: this repository's docs).
# Builds only what it runs: the binary, not the tests and benchmarks.
run: deps build/release/Makefile
	cmake --build build/release -j$(JOBS) --target lore
	@bash scripts/run.sh build/release/lore "$(DATA_DIR)"

# The binary to $(DESTDIR)$(PREFIX)/bin, so the README's bare `lore` commands work.
install: deps build/release/Makefile
	cmake --build build/release -j$(JOBS) --target lore
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/release/lore $(DESTDIR)$(PREFIX)/bin/lore

# Release with clang too: both compilers at -O2, tests and benchmarks included,
# since -O2 raises warnings (format-truncation, maybe-uninitialized) that a
# Debug build never sees.
build/release-clang/Makefile:
	CC=clang cmake -S . -B build/release-clang -DCMAKE_BUILD_TYPE=Release >/dev/null

build-clang: deps build/release-clang/Makefile
	cmake --build build/release-clang -j$(JOBS)

test-release: build build-clang

build/asan/Makefile:
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DLORE_SANITIZE=ON >/dev/null

build/fuzz/Makefile:
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLORE_FUZZ=ON \
	  -DLORE_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null

test-unit: deps build/asan/Makefile
	cmake --build build/asan -j$(JOBS)
	cd build/asan && ctest --output-on-failure -j$(JOBS)

test-fuzz: deps build/fuzz/Makefile
	cmake -S . -B build/fuzz -DLORE_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build build/fuzz -j$(JOBS)
	cd build/fuzz && ctest --output-on-failure -L fuzz -j$(JOBS)

# Layout is clang-format's (.clang-format); the check fails on any drift.
format-check: deps
	@files=$$(git ls-files '*.c' '*.h'); \
	if ! clang-format --dry-run --Werror $$files 2>/dev/null; then \
	  echo "clang-format: these files need formatting (run make format):" >&2; \
	  clang-format --dry-run $$files 2>&1 | grep -o '^[^:]*\.[ch]' | sort -u >&2; exit 1; fi

test: format-check test-release test-unit test-fuzz

# The README's run command as a user types it, in the background on a free
# port: ready, a search of the sample data with the printed key, SIGTERM, exit 0.
smoke-run:
	@bash scripts/smoke_run.sh

bench: build
	@echo "see bench/README.md"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
