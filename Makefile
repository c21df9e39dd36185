# botwatch — build, test, bench, demo.
#
#   make                 build build/botwatch (strict warnings, -Werror)
#   make test            unit tests (cmocka) + integration tests + fuzz-corpus replay
#   make SANITIZE=address,undefined test   the same under sanitizers (in build-san/)
#   make SANITIZE=thread  ThreadSanitizer build (build-tsan/; tests/tsan/run.sh runs it)
#   make bench           benchmarks (figures on stdout)
#   make demo            replay the bundled demo sample and print per-account results, then
#                        the live demo (simulated stream -> pipeline -> dashboard; DEMO_DURATION)
#   make run             the main job: `botwatch run` on its embedded defaults (Ctrl-C stops it)
#   make deps            install the Debian packages everything needs (idempotent)
#   make fuzz            libFuzzer targets with clang (build-fuzz/)
#   make fuzz-long       run every fuzz target for a bounded budget (FUZZ_SECONDS, FUZZ_RUNS)
#   make torture         crash, outage and exhaustion probes (tests/torture/torture.sh, 5-9 min)
#   make docs            regenerate docs/CONFIG.md, docs/FEATURES.md and docs/EXPECTATIONS.md
#   make model           train models/default.model from ../shared/data + simulator output
#   make install         install under PREFIX (default /usr/local), staged under DESTDIR
#   make kafka-up        a 3-node Apache Kafka (KRaft) on loopback; last line: bootstrap list
#   make kafka-down      stop it (KAFKA_ARGS passes options to tools/kafka.sh)
#   make test-kafka      integration tests on a real 3-node cluster of their own

V        ?= 0
ifeq ($(V),0)
Q        := @
MSG      = @printf '  %-6s %s\n'
else
Q        :=
MSG      = @true
endif

CC       ?= cc
CXX      ?= g++
SANITIZE ?=
FUZZ     ?=

ifneq ($(findstring thread,$(SANITIZE)),)
# ThreadSanitizer: its own build directory, and librdkafka's C11 threads and
# locks made visible to it (tests/tsan/c11_threads.c, docs/PIPELINE.md)
BUILD    ?= build-tsan
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
TSAN_OBJ  = $(BUILD)/obj/tests/tsan/c11_threads.o
else ifneq ($(SANITIZE),)
BUILD    ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifneq ($(FUZZ),)
BUILD    ?= build-fuzz
# -fno-sanitize=vptr: clang links with the C driver, which lacks the C++ half of
# UBSan that the vptr check of C++ objects (json_dom.cpp) needs.
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
else
BUILD    ?= build
SANFLAGS :=
endif

MODULES  := common config ingest features classifier store audit api stage pipeline
PKGS     := rdkafka jansson libcurl lmdb libmicrohttpd simdjson zlib inih libxxhash libcrypto libssl libzstd

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Werror
INCS     := $(addprefix -I,$(MODULES) cmd)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# User flags (CFLAGS, CXXFLAGS, LDFLAGS: e.g. make CFLAGS=-O0) only add to the
# required ones (BW_CFLAGS: standard, warnings, -Werror, include paths), which a
# command-line CFLAGS cannot drop; the compile rules pass both.
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CXXFLAGS ?= $(OPT) -g
BW_CFLAGS   := -std=c11 -D_DEFAULT_SOURCE $(WARN) $(INCS) $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP \
               -DBW_GIT_COMMIT=\"$(GIT_COMMIT)\"
BW_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror $(INCS) $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
ALL_CFLAGS   = $(CFLAGS) $(BW_CFLAGS)
ALL_CXXFLAGS = $(CXXFLAGS) $(BW_CXXFLAGS)
LDLIBS   := $(PKG_LIBS) -lsvm -lm -lpthread -lstdc++
ALL_LDFLAGS  = $(LDFLAGS) $(SANFLAGS)

LIB_C    := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LIB_CXX  := $(foreach m,$(MODULES),$(wildcard $(m)/*.cpp))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_C)) $(patsubst %.cpp,$(BUILD)/obj/%.o,$(LIB_CXX))
# the dashboard page (api/dashboard.html) as a C string, generated (api_dash.c)
DASH_OBJ := $(BUILD)/obj/gen/api_dash_page.o
LIB_OBJ  += $(DASH_OBJ)
CMD_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/*.c))
LIB      := $(BUILD)/libbotwatch.a
BIN      := $(BUILD)/botwatch

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TESTLIB_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
REPLAY_BIN := $(patsubst fuzz/%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRC))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: FORCE install uninstall all test test-run bench-run demo-run run run-job deps-check fuzz-targets unit integration fuzz-replay fuzz bench demo deps docs check-docs clean model test-kafka test-kafka-run kafka-up kafka-down torture torture-run fuzz-long

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(MSG) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The model's training metadata records the source commit (cmd_train.c): rebuild
# that object when HEAD moves, not only when its source changes.
$(BUILD)/git-commit: FORCE
	@mkdir -p $(@D)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
$(BUILD)/obj/cmd/cmd_train.o $(BUILD)/obj/cmd/main.o: $(BUILD)/git-commit
FORCE:

# Every line of the page becomes a string literal: backslashes, quotes and '?'
# (no trigraphs) escaped.
$(BUILD)/gen/api_dash_page.c: api/dashboard.html
	@mkdir -p $(@D)
	$(MSG) GEN $@
	$(Q){ echo '/* generated from api/dashboard.html by the Makefile: do not edit */'; \
	  echo 'extern const char api_dash_page[];'; \
	  echo 'const char api_dash_page[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(DASH_OBJ): $(BUILD)/gen/api_dash_page.c
	@mkdir -p $(@D)
	$(MSG) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(MSG) CXX $<
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(MSG) AR $@
	$(Q)ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB) $(TSAN_OBJ)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) $(CMD_OBJ) $(TSAN_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/lib $< $(TESTLIB_OBJ) $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -lcmocka -o $@

# allocation-failure injection (tests/unit/test_allocfail.c): this test binary
# alone routes the library's allocations through its own __wrap_* functions
$(BUILD)/tests/test_allocfail: private LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free \
	-Wl,--wrap=strdup,--wrap=strndup,--wrap=_ZnwmRKSt9nothrow_t,--wrap=_ZnamRKSt9nothrow_t

$(BUILD)/tests/%: tests/tools/%.c $(TESTLIB_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/lib $< $(TESTLIB_OBJ) $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/fuzz/replay_%: fuzz/%.c fuzz/replay_main.c $(LIB)
	@mkdir -p $(@D)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $< fuzz/replay_main.c $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -o $@

# --- tests -----------------------------------------------------------------

# The public targets install missing packages first, then re-run make so that
# pkg-config is evaluated after the install.
test: deps-check
	@$(MAKE) --no-print-directory test-run

test-run: all $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN) check-docs
	@BUILD=$(BUILD) tests/run.sh

unit: all $(UNIT_BIN)
	@BUILD=$(BUILD) tests/run.sh unit

integration: all $(TOOL_BIN)
	@BUILD=$(BUILD) tests/run.sh integration

# Tests on a real Apache Kafka cluster (tests/kafka/; starts and stops its own).
test-kafka: deps-check
	@$(MAKE) --no-print-directory test-kafka-run

test-kafka-run: all $(TOOL_BIN)
	@BUILD=$(BUILD) tests/kafka/run.sh

# A real Apache Kafka on loopback (tools/kafka.sh, docs/KAFKA.md): the jars are
# downloaded once into build/kafka/; data under build/kafka/cluster.
KAFKA_ARGS ?=
kafka-up:
	@tools/kafka.sh up $(KAFKA_ARGS)

kafka-down:
	@tools/kafka.sh down $(KAFKA_ARGS)

fuzz-replay: $(REPLAY_BIN)
	@BUILD=$(BUILD) tests/run.sh fuzz

# The torture run: one table, non-zero exit on any loss, duplicate or crash.
torture: deps-check
	@$(MAKE) --no-print-directory torture-run

torture-run: all $(TOOL_BIN)
	@BUILD=$(BUILD) tests/torture/torture.sh $(TORTURE_ARGS)

# libFuzzer binaries (clang); run e.g. build-fuzz/fuzz/fuzz_decode fuzz/corpus/decode
fuzz:
	$(MAKE) FUZZ=1 CC=clang CXX=clang++ fuzz-targets

# every target for a bounded budget (fuzz/long.sh: FUZZ_RUNS, FUZZ_SECONDS,
# FUZZ_TARGETS); new coverage-raising inputs are merged into fuzz/corpus/
fuzz-long: fuzz
	fuzz/long.sh

FUZZ_BIN := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
fuzz-targets: $(FUZZ_BIN)
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(@D)
	$(MSG) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -o $@

# --- bench, demo, docs, deps ---------------------------------------------------

bench: deps-check
	@$(MAKE) --no-print-directory bench-run

bench-run: all $(BENCH_BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) bench/run.sh

demo: deps-check
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	@BUILD=$(BUILD) tools/demo.sh

# The long-running pipeline in one process: embedded broker, ingest of
# ingest.source (default: the demo sample), features, score, API on api.listen.
# RUN_ARGS adds options, e.g. make run RUN_ARGS=--exit-when-idle
RUN_ARGS ?=
run: deps-check
	@$(MAKE) --no-print-directory run-job

run-job: all
	$(BIN) run $(RUN_ARGS)

docs: all
	$(BIN) config --markdown > docs/CONFIG.md
	$(BIN) config --template > config/botwatch.conf
	$(BIN) features --markdown > docs/FEATURES.md
	$(BIN) decode --expectations-markdown > docs/EXPECTATIONS.md
	n=$$($(BIN) features --list | wc -l | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'); \
	  sed -i "s/Prints the feature registry: [0-9,]* named features/Prints the feature registry: $$n named features/" README.md

check-docs: all
	@$(BIN) config --markdown | cmp -s - docs/CONFIG.md || \
	  { echo "docs/CONFIG.md is stale: run 'make docs'"; exit 1; }
	@$(BIN) config --template | cmp -s - config/botwatch.conf || \
	  { echo "config/botwatch.conf is stale: run 'make docs'"; exit 1; }
	@$(BIN) features --markdown | cmp -s - docs/FEATURES.md || \
	  { echo "docs/FEATURES.md is stale: run 'make docs'"; exit 1; }
	@$(BIN) decode --expectations-markdown | cmp -s - docs/EXPECTATIONS.md || \
	  { echo "docs/EXPECTATIONS.md is stale: run 'make docs'"; exit 1; }
	@n=$$($(BIN) features --list | wc -l | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'); \
	  grep -q "Prints the feature registry: $$n named features" README.md || \
	  { echo "README.md's feature count is not the registry's $$n: run 'make docs'"; exit 1; }

deps:
	tools/install-deps.sh

deps-check:
	@tools/install-deps.sh --if-missing

# The default model (docs/MODEL.md): reproducible bit for bit from the data.
model: all
	BUILD=$(BUILD) models/build.sh models/default.model

clean:
	rm -rf build build-san build-tsan build-fuzz

# --- install -------------------------------------------------------------------
# PREFIX/bin/botwatch, PREFIX/share/botwatch/{models/default.model, data/demo/,
# botwatch.conf (the commented template)}, PREFIX/share/doc/botwatch/. botwatch
# finds its data through its own location (<bin>/../share/botwatch), so the
# installed tree works under any PREFIX and can be moved as a whole.
# The systemd units (systemd/: botwatch.service for `run`, one unit per stage and
# botwatch-stages.target) go to UNITDIR with the installed paths filled in, the
# system user they run as to SYSUSERSDIR (docs/PIPELINE.md, "Running as a service").
PREFIX   ?= /usr/local
INST_BIN  = $(DESTDIR)$(PREFIX)/bin
INST_DATA = $(DESTDIR)$(PREFIX)/share/botwatch
INST_DOC  = $(DESTDIR)$(PREFIX)/share/doc/botwatch
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
UNITS := $(wildcard systemd/*.service systemd/*.target)

install: all
	install -d $(INST_BIN) $(INST_DATA)/models $(INST_DATA)/data/demo $(INST_DOC)
	install -m 0755 $(BIN) $(INST_BIN)/botwatch
	install -m 0644 models/default.model $(INST_DATA)/models/default.model
	install -m 0644 data/demo/README.md data/demo/labels.csv data/demo/posts.ndjson.gz \
	  $(INST_DATA)/data/demo/
	install -m 0644 config/botwatch.conf $(INST_DATA)/botwatch.conf
	install -m 0644 README.md docs/*.md $(INST_DOC)/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	for u in $(UNITS); do \
	  sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@DATADIR@|$(PREFIX)/share/botwatch|g' \
	      -e 's|@DOCDIR@|$(PREFIX)/share/doc/botwatch|g' $$u > $(DESTDIR)$(UNITDIR)/$${u#systemd/} && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; \
	done
	install -m 0644 systemd/botwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/botwatch.conf

uninstall:
	rm -f $(INST_BIN)/botwatch
	rm -rf $(INST_DATA) $(INST_DOC)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS))) $(DESTDIR)$(SYSUSERSDIR)/botwatch.conf

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d)
