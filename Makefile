# proctor: convenience targets around meson (HACKING.md). Every target
# installs missing Debian build dependencies first (scripts/install-deps.sh).
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_TEST_ARGS ?=

.PHONY: all deps build build-release example check check-asan valgrind bench fuzz install clean format

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	@sh scripts/install-deps.sh
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# An optimised build (-O3, as a distribution would package it).
build-release:
	@sh scripts/install-deps.sh
	@[ -f build-release/build.ninja ] || meson setup build-release -Dbuildtype=release
	ninja -C build-release

# Runs proctor's main job on the bundled example provider.
example: build
	sh examples/run-example.sh $(BUILD)

# The whole suite; ends with the line "N passed, N failed". Tests run two
# per CPU (CHECK_JOBS): the long ones mostly wait (Slurm, timeouts, a
# browser). Their files go to a RAM file system when there is one
# (scripts/test-tmpdir.sh). docs/harness.md has the figures.
CHECK_JOBS ?= $(shell echo $$(( $$(nproc) * 2 )))

check: build
	@rm -f $(BUILD)/tally.txt
	@PT_TALLY=$(CURDIR)/$(BUILD)/tally.txt TMPDIR=$$(sh scripts/test-tmpdir.sh) \
		meson test -C $(BUILD) --num-processes $(CHECK_JOBS) \
		--print-errorlogs $(MESON_TEST_ARGS); st=$$?; \
	sh scripts/tally.sh $(BUILD)/tally.txt; t=$$?; \
	[ $$st -eq 0 ] && [ $$t -eq 0 ]

$(ASAN_BUILD)/build.ninja:
	@sh scripts/install-deps.sh
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

# The suite under ASan+UBSan (-fno-sanitize-recover=all).
check-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@rm -f $(ASAN_BUILD)/tally.txt
	@PT_TALLY=$(CURDIR)/$(ASAN_BUILD)/tally.txt TMPDIR=$$(sh scripts/test-tmpdir.sh) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C $(ASAN_BUILD) --print-errorlogs $(MESON_TEST_ARGS); st=$$?; \
	sh scripts/tally.sh $(ASAN_BUILD)/tally.txt; t=$$?; \
	[ $$st -eq 0 ] && [ $$t -eq 0 ]

# Library test programs under valgrind memcheck.
valgrind: build
	sh scripts/valgrind.sh $(BUILD)

bench: build
	PROCTOR_BENCH_DEPS=1 sh scripts/install-deps.sh
	sh bench/run-all.sh $(BUILD)

install: build
	meson install -C $(BUILD)

format:
	find src include tests bench fuzz -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
