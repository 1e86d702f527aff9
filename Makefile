# See COPYING for copyright and license details.
# galley: GNU make. `make check` on a fresh Debian 12 machine (as root)
# installs what is missing, builds, and runs every test.

VERSION   = 0.1.0
PREFIX    = /usr/local
BINDIR    = $(PREFIX)/bin
MANPREFIX = $(PREFIX)/share/man

CC         ?= cc
CFLAGS     ?= -O2 -g
PKG_CONFIG ?= pkg-config
PYTHON     ?= /usr/bin/python3
PROVE_JOBS ?= 2

# Required flags are ours; CFLAGS, CPPFLAGS and LDFLAGS stay the user's.
CURL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS    := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson 2>/dev/null)
CJSON_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson 2>/dev/null || echo -lcjson)

GALLEY_CPPFLAGS = -D_GNU_SOURCE -DGALLEY_VERSION=\"$(VERSION)\" -Ilib \
		  $(CURL_CFLAGS) $(CJSON_CFLAGS)
GALLEY_CFLAGS   = -std=c11 -Wall -Wextra -Werror -MMD -MP
# Each tool records only the libraries it uses (no libcurl for the
# tools that start in a container's ENTRYPOINT path or under CI).
GALLEY_LDFLAGS  = -Wl,--as-needed
GALLEY_LIBS     = $(CURL_LIBS) $(CJSON_LIBS) -lm

ifeq ($(SANITIZE),1)
GALLEY_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
		  -fno-sanitize-recover=all
GALLEY_LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(COVERAGE),1)
GALLEY_CFLAGS  += --coverage -O0 -DGALLEY_COVERAGE
GALLEY_LDFLAGS += --coverage
endif

ALL_CFLAGS  = $(GALLEY_CPPFLAGS) $(CPPFLAGS) $(GALLEY_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(GALLEY_LDFLAGS) $(LDFLAGS)

TOOLS   = $(sort $(basename $(notdir $(wildcard cmd/*.c))))
BIN     = $(addprefix bin/,$(TOOLS))
LIBSRC  = $(sort $(wildcard lib/*.c))
LIBOBJ  = $(LIBSRC:.c=.o)
LIB     = lib/libgalley.a
UNITSRC = $(sort $(wildcard tests/unit/*.c))
UNIT    = $(UNITSRC:.c=.t)
MAN     = $(sort $(wildcard man/*.1 man/*.7))

# Fuzz targets (tests/fuzz/NAME.c): replayed over their corpus and every
# crash found in make check, run under libFuzzer by make fuzz.
FUZZ_TARGETS = $(filter-out replay,$(sort $(basename $(notdir $(wildcard tests/fuzz/*.c)))))
FUZZ_REPLAY  = $(FUZZ_TARGETS:%=tests/fuzz/%.replay)
FUZZ_SECONDS ?= 60

TESTS   = $(UNIT) $(sort $(wildcard tests/cli/*.t tests/emulators/*/*.t \
	  tests/examples/*.t tests/fuzz/*.t))
SHELL_SCRIPTS = .ci/run $(sort $(wildcard tests/*.sh tests/cli/*.t \
		tests/emulators/*/*.sh tests/bench/*.sh tests/examples/*.sh \
		tests/examples/*.t \
		tests/fuzz/*.t tests/fuzz/*.sh tests/helpers/*.sh))

# Debian packages needed to build and test.
DEPS = build-essential pkg-config libcurl4-openssl-dev libcjson-dev \
       python3 python3-consul python3-marathon python3-yaml curl openssl \
       haproxy iptables iproute2 util-linux procps wrk strace valgrind \
       cppcheck shellcheck mandoc clang jq clang-tidy clang-tools \
       libclang-rt-14-dev gcovr

.SECONDARY: $(BIN:bin/%=cmd/%.o)
.PHONY: all bench check check-deps coverage demo deps fuzz lint install \
	uninstall clean FORCE

all: $(BIN)

# Rebuild everything when the compiler or flags change (SANITIZE=1, CC=clang).
build/flags: FORCE
	@mkdir -p build
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

lib/%.o: lib/%.c build/flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

cmd/%.o: cmd/%.c build/flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

bin/%: cmd/%.o $(LIB)
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(GALLEY_LIBS) $(LDLIBS)

tests/unit/%.t: tests/unit/%.c tests/unit/tap.h $(LIB) build/flags
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB) \
	    $(GALLEY_LIBS) $(LDLIBS)

tests/fuzz/replay.o: tests/fuzz/replay.c tests/fuzz/fuzz.h build/flags
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -c -o $@ $<

tests/fuzz/%.replay: tests/fuzz/%.c tests/fuzz/fuzz.h tests/fuzz/replay.o \
    $(LIB) build/flags
	$(CC) $(ALL_CFLAGS) -Itests/fuzz $(ALL_LDFLAGS) -o $@ $< \
	    tests/fuzz/replay.o $(LIB) $(GALLEY_LIBS) $(LDLIBS)

-include $(LIBOBJ:.o=.d) $(BIN:bin/%=cmd/%.d) $(UNIT:.t=.d) \
	$(FUZZ_REPLAY:.replay=.d) tests/fuzz/replay.d

# `make check`: install what is missing (as root), build, run every test.
check: check-deps all $(UNIT) $(FUZZ_REPLAY)
	PATH="$(CURDIR)/bin:$$PATH" GALLEY_ROOT="$(CURDIR)" PYTHON=$(PYTHON) \
	    prove -j$(PROVE_JOBS) $(PROVE_FLAGS) $(TESTS)

# `make demo`: the whole platform on one machine, narrated (as root; see
# tests/examples/demo.sh). DEMO_QUICK=1 for the short variant.
demo: check-deps all
	GALLEY_ROOT="$(CURDIR)" PYTHON=$(PYTHON) sh tests/examples/demo.sh

check-deps:
	@missing=$$(for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make: missing Debian packages:" $$missing; \
	    $(MAKE) --no-print-directory deps; \
	fi

deps:
	@missing=$$(for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "make deps: nothing missing"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	    echo "make deps: run as root, or: apt-get install $$missing" >&2; exit 2; \
	fi; \
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing

lint: all
	cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	    --enable=warning,style,performance,portability \
	    --suppress=missingIncludeSystem --suppress=variableScope \
	    --suppress=unusedStructMember -Ilib -Itests/fuzz lib cmd tests/unit tests/fuzz
	mandoc -Tlint -Wwarning $(MAN)
	shellcheck -s sh -x $(SHELL_SCRIPTS)
	printf '%s\n' $(LIBSRC) $(wildcard cmd/*.c) tests/fuzz/*.c | \
	    xargs -P $(PROVE_JOBS) -I{} clang-tidy --quiet {} -- \
	    $(GALLEY_CPPFLAGS) -Itests/fuzz -std=c11 2>&1 | \
	    { grep -v ' warnings\? generated\.$$' || :; } >build/clang-tidy.log; \
	    cat build/clang-tidy.log; test ! -s build/clang-tidy.log
	scan-build -o build/scan --status-bugs $(MAKE) --no-print-directory \
	    -B CC=clang all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANPREFIX)/man1

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANPREFIX)/man1/,$(notdir $(wildcard man/*.1)))

clean:
	rm -rf bin build tests/trash coverage
	rm -f $(LIB) lib/*.o lib/*.d cmd/*.o cmd/*.d tests/unit/*.t \
	    tests/unit/*.d lib/*.gcda lib/*.gcno cmd/*.gcda cmd/*.gcno \
	    tests/unit/*.gcda tests/unit/*.gcno tests/fuzz/*.replay \
	    tests/fuzz/*.o tests/fuzz/*.d tests/fuzz/*.gcda tests/fuzz/*.gcno

# `make fuzz`: each tests/fuzz target under libFuzzer with ASan+UBSan for
# FUZZ_SECONDS (default 60), from its committed corpus; writes
# tests/fuzz/RESULTS.md. A crash is kept in tests/fuzz/out/NAME/; copy it
# to tests/fuzz/crashes/NAME/ so that make check replays it from then on.
FUZZ_CC  ?= clang
FUZZ_BIN  = $(FUZZ_TARGETS:%=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIBSRC) $(wildcard lib/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(GALLEY_CPPFLAGS) -std=c11 -g -O1 -Itests/fuzz \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(LIBSRC) $(GALLEY_LIBS)

fuzz: check-deps $(FUZZ_BIN)
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

# `make coverage`: every test on an instrumented build; line and branch
# coverage of lib/ and cmd/ in coverage/ (fails under 90% of lines in lib/).
coverage: check-deps
	$(MAKE) --no-print-directory clean
	$(MAKE) --no-print-directory COVERAGE=1 CFLAGS='-O0 -g' check
	@mkdir -p coverage
	gcovr -r . --filter 'lib/' --filter 'cmd/' --exclude-unreachable-branches \
	    --txt coverage/summary.txt --html-details coverage/index.html \
	    --print-summary
	gcovr -r . --filter 'lib/' --txt coverage/lib.txt --fail-under-line 90
	cat coverage/summary.txt

# `make bench`: each tests/bench/<tool>.sh measures one tool against the
# shell way and writes tests/bench/<tool>.md; RESULTS.md gathers them.
# BENCH=name runs one.
# Baselines (tests/bench/*-shell.sh) are run by the benchmarks, not on their own.
BENCH_SCRIPTS = $(if $(BENCH),tests/bench/$(BENCH).sh,$(filter-out %-shell.sh,$(sort $(wildcard tests/bench/*.sh))))
bench: check-deps all
	@for s in $(BENCH_SCRIPTS); do \
	    echo "== $$s"; \
	    PATH="$(CURDIR)/bin:$$PATH" GALLEY_ROOT="$(CURDIR)" PYTHON=$(PYTHON) \
	        sh $$s || exit 1; \
	done
	@{ echo "# Benchmarks"; echo; \
	   echo "Written by \`make bench\` (one section per tests/bench/*.sh)."; \
	   echo "Each section gives the command that reproduces it."; \
	   for f in tests/bench/*.md; do \
	       [ "$${f##*/}" = RESULTS.md ] && continue; echo; cat "$$f"; done; \
	 } > tests/bench/RESULTS.md
	@echo "bench: wrote tests/bench/RESULTS.md"
