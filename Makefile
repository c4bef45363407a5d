# Parley - the front door. Everything goes through CMake; see CMakeLists.txt.
#
#   make            build build/ (RelWithDebInfo); programs in build/bin/
#   make test       build build-san/ (ASan + UBSan) and run every test
#   make run        build, then run parleyd on 127.0.0.1:5060 (UDP and TCP) with
#                   the built-in defaults (= etc/parleyd.conf) and the shipped
#                   script etc/parley.lua, after printing how to register two
#                   parley UAs and send a MESSAGE through it  (RUN_CMD=...)
#   make bench      build, then run every build/bin/bench-*, then bench-proxy
#                   --dialog (BENCH_DIALOG=0 leaves that out)
#   make soak       build, then the dialog soak: SOAK_CALLS (100000) SIPp calls
#                   at SOAK_RATE (500/s) through parleyd with dialogs, the
#                   caller profile and pings on; counters and memory back to
#                   their start (tests/integration/parleyd_dialog_soak.sh)
#   make load       SIPp calls through a running parleyd (PROXY=127.0.0.1:5060
#                   RATE=100 CALLS=1000): uac_rr.xml -> PROXY -> uas_rr.xml,
#                   SIPp's summary, non-zero when a call failed
#   make fuzz       build build-fuzz/ (clang) and run every fuzzer for
#                   FUZZ_SECONDS (600) each  (FUZZ_TARGETS="fuzz_x ...")
#   make format     clang-format every .c/.h in place
#   make clean      remove the build trees

MAKEFLAGS    += --no-print-directory
NPROC        ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE        ?= cmake
CTEST        ?= ctest
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
SOAK_CALLS   ?= 100000
SOAK_RATE    ?= 500
BENCH_DIALOG ?= 1
PROXY        ?= 127.0.0.1:5060
RATE         ?= 100
CALLS        ?= 1000

ifeq ($(origin RUN_CMD),undefined)
RUN_MSG := parleyd on udp and tcp 127.0.0.1:5060, defaults of etc/parleyd.conf, script etc/parley.lua (Ctrl-C stops it)
else
RUN_MSG := running $(RUN_CMD)
endif
RUN_CMD ?= build/bin/parleyd

FORMAT_DIRS := $(wildcard include src apps tests bench fuzz examples)

.PHONY: all test run bench soak load fuzz format clean bootstrap

all: bootstrap
	@test -f build/CMakeCache.txt || \
	  $(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
	$(CMAKE) --build build -j$(NPROC)

test: bootstrap
	@test -f build-san/CMakeCache.txt || \
	  $(CMAKE) -S . -B build-san -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DPARLEY_SANITIZE=ON -DPARLEY_BENCH=OFF
	$(CMAKE) --build build-san -j$(NPROC)
	$(CTEST) --test-dir build-san --output-on-failure -j$(NPROC)

run: all
	@echo "make run: $(RUN_MSG)"
	@echo ""
	@echo "  Try it from three more terminals, in this folder:"
	@echo "    1) alice:  build/bin/parley listen --handle MESSAGE=200 --register sip:127.0.0.1 --aor sip:alice@127.0.0.1 udp:127.0.0.1:5071"
	@echo "    2) bob:    build/bin/parley listen --handle MESSAGE=200 --register sip:127.0.0.1 --aor sip:bob@127.0.0.1 udp:127.0.0.1:5072"
	@echo "    3) send:   build/bin/parley send MESSAGE sip:bob@127.0.0.1 --from sip:alice@127.0.0.1 -H 'Subject: hello'"
	@echo "  bob prints the MESSAGE that parleyd routed to him; the sender prints 200 OK."
	@echo "  Also: build/bin/parley send OPTIONS sip:127.0.0.1 (parleyd answers), and"
	@echo "  build/bin/parley send MESSAGE sip:carol@127.0.0.1 (404: nobody registered)."
	@echo "  SIPp calls through it (caller, callee and parleyd's Record-Route): make load"
	@echo "  (RATE=100 CALLS=1000 by default; tests/sipp/README.md has the scenarios)."
	@echo "  Operate it: build/bin/parleyctl stats, build/bin/parleyctl dlg list,"
	@echo "  build/bin/parleyctl profile size caller (management on 127.0.0.1:8080)."
	@echo ""
	$(RUN_CMD)

bench: all
	@set -e; n=0; \
	for f in build/bin/bench-*; do \
	  [ -x "$$f" ] || continue; \
	  echo "bench: $$f"; \
	  $$f || exit 1; \
	  n=$$((n + 1)); \
	done; \
	[ $$n -gt 0 ] || echo "bench: no benchmarks in build/bin (bench/<name>/*.c)"; \
	if [ "$(BENCH_DIALOG)" = 1 ]; then \
	  echo "bench: build/bin/bench-proxy --dialog"; \
	  build/bin/bench-proxy --dialog || exit 1; \
	fi

soak: all
	@PARLEY_BIN=build/bin PARLEY_SRC=. CALLS=$(SOAK_CALLS) RATE=$(SOAK_RATE) PROGRESS=10 \
	  bash tests/integration/parleyd_dialog_soak.sh

load: bootstrap
	@tests/sipp/load.sh "$(PROXY)" "$(RATE)" "$(CALLS)"

fuzz: bootstrap
	@test -f build-fuzz/CMakeCache.txt || \
	  CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DPARLEY_FUZZ=ON -DPARLEY_BENCH=OFF
	$(CMAKE) --build build-fuzz -j$(NPROC)
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz $(FUZZ_TARGETS)

format: bootstrap
	@$(if $(FORMAT_DIRS),,true ||) find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) -print0 | \
	  xargs -0 -r clang-format -i

clean:
	rm -rf build build-san build-fuzz

bootstrap:
	@scripts/bootstrap
