# b2c-authy: plain GNU make + pkg-config.
# Targets: all, check (= test), unit, valgrind, asan, fuzz, lint, format, man, install, deb,
# clean, distclean.

NAME      := b2c-authy
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
BIN       ?= cgi-bin/$(NAME).fcgi
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system

CC        ?= cc
PKGS      := libcurl json-c openssl fcgi
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
HARDEN    := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
OPT       ?= -O2 -g
CFLAGS    ?=
CFLAGS    += -std=c11 -D_DEFAULT_SOURCE -pthread $(WARN) $(OPT) $(HARDEN) \
             -DB2CAUTHY_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LDFLAGS   += -pie -Wl,-z,relro,-z,now -pthread
LDLIBS    += $(PKG_LIBS) -lfcgi

SRCDIRS   := src/edge src/b2c src/providers src/core src/util
INC       := -Isrc $(SRCDIRS:%=-I%)
SRC       := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
OBJ       := $(SRC:src/%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libb2cauthy.a
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
COMP_SRC  := $(wildcard tests/component/test_*.c)
COMP_BIN  := $(COMP_SRC:tests/component/%.c=$(BUILD)/component/%)
HDRS      := $(wildcard src/*.h src/*/*.h)

.PHONY: all unit component check test valgrind asan lint format format-check hdrcheck install \
        uninstall clean distclean demo policy fuzz fuzz-build fuzz-targets bench man deb

all: $(BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(INC) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(INC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Handlers are plain functions from a request context to a response: their
# test links without libfcgi, so a handler that reaches the FastCGI edge
# (which alone uses libfcgi) fails to build.
$(BUILD)/tests/test_handlers: tests/unit/test_handlers.c tests/unit/harness.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(INC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(filter-out -lfcgi,$(LDLIBS))

# Component tests talk to the mock Authy over TLS; tests/suites/component.sh runs them.
$(BUILD)/component/%: tests/component/%.c tests/unit/harness.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(INC) -Itests/unit $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)

component: $(COMP_BIN)

# The single test entry point (unit, component, end-to-end); last line "N passed, N failed".
check test: all unit component
	BUILD=$(BUILD) B2C_AUTHY_BIN=$(abspath $(BIN)) tests/run.sh

# Unit and component tests under valgrind (VALGRIND=1), and the responder of the
# end-to-end and fault suites too (B2C_AUTHY_WRAPPER, read by tests/e2e/stack.py).
VALGRIND_CMD    := valgrind --quiet --error-exitcode=99 --leak-check=full \
                   --errors-for-leak-kinds=definite
VALGRIND_SUITES ?= unit component e2e e2e-verify cli faults churn

valgrind: all unit component
	B2C_AUTHY_WRAPPER="$(VALGRIND_CMD)" SUITES="$(VALGRIND_SUITES)" BUILD=$(BUILD) \
		B2C_AUTHY_BIN=$(abspath $(BIN)) VALGRIND=1 tests/run.sh

# AddressSanitizer + UndefinedBehaviorSanitizer build of the whole suite. The
# options reach the test binaries and, through tests/e2e/stack.py, the
# responder; a sanitizer report in its log fails the run. The web-server
# suites are left out (ASAN_SUITES) as they test configuration, not our code.
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# gcc's truncation analysis at -O1 sees ranges the -O2 build does not: a warning only.
SAN_WNO     := -Wno-error=format-truncation
ASAN_SUITES ?= unit component e2e e2e-verify cli faults robust churn
ASAN_ENV    := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan:
	$(MAKE) BUILD=build/asan BIN=build/asan/$(NAME).fcgi OPT="-O1 -g $(SAN_FLAGS) $(SAN_WNO)" \
		LDFLAGS="-fsanitize=address,undefined" HARDEN="-fPIE" all unit component
	$(ASAN_ENV) SUITES="$(ASAN_SUITES)" BUILD=build/asan \
		B2C_AUTHY_BIN=$(abspath build/asan/$(NAME).fcgi) tests/run.sh

# libFuzzer harnesses (tests/fuzz/fuzz_*.c). The library is rebuilt by clang
# with coverage and the sanitizers into build/fuzz (never mixed with gcc
# objects); `make fuzz` runs every harness for FUZZ_SECONDS on its corpus.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)
# clang also flags the vprintf-style wrappers that gcc accepts.
CLANG_WNO := -Wno-format-nonliteral

fuzz-build:
	$(MAKE) CC=clang BUILD=build/fuzz OPT="-O1 -g -fsanitize=fuzzer-no-link $(SAN_FLAGS) $(CLANG_WNO)" \
		LDFLAGS="-fsanitize=address,undefined" HARDEN="-fPIE" fuzz-targets

fuzz-targets: $(FUZZ_BIN)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB)
	$(CC) $(INC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=build/fuzz tests/fuzz/run.sh

# Every header must compile on its own.
hdrcheck:
	@for h in $(HDRS); do \
		printf '#include "%s"\n' "$$(basename $$h)" | \
		$(CC) $(INC) $(filter-out -MMD -MP,$(CFLAGS)) -x c -fsyntax-only - || exit 1; \
	done; echo "headers ok"

lint: hdrcheck format-check
	scripts/checksrc.sh
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem $(INC) src

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h

format-check:
	clang-format --dry-run --Werror src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h \
		tests/fuzz/*.c tests/fuzz/*.h

# Manual pages b2c-authy(8) and b2c-authy.conf(5), generated from --help,
# man/b2c-authy.8.in and the example configuration (see scripts/gen-man.py).
MAN_PAGES := $(BUILD)/man/$(NAME).8 $(BUILD)/man/$(NAME).conf.5

man: $(MAN_PAGES)

$(MAN_PAGES) &: $(BIN) scripts/gen-man.py man/$(NAME).8.in etc/$(NAME).conf.example
	python3 scripts/gen-man.py --bin $(BIN) --version $(VERSION) --out $(BUILD)/man

install: all man
	install -d $(DESTDIR)$(PREFIX)/lib/$(NAME) $(DESTDIR)$(PREFIX)/share/doc/$(NAME) \
		$(DESTDIR)/etc/$(NAME) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(PREFIX)/share/$(NAME)/nginx \
		$(DESTDIR)$(PREFIX)/share/$(NAME)/apache $(DESTDIR)$(PREFIX)/share/$(NAME)/lighttpd
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/lib/$(NAME)/$(NAME).fcgi
	install -m 0640 etc/$(NAME).conf.example $(DESTDIR)/etc/$(NAME)/$(NAME).conf.example
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/$(NAME)/
	install -m 0644 $(BUILD)/man/$(NAME).8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/$(NAME).conf.5 $(DESTDIR)$(MANDIR)/man5/
	for f in systemd/*.service systemd/*.socket; do \
		sed 's|@PREFIX@|$(PREFIX)|g' $$f > $(DESTDIR)$(UNITDIR)/$$(basename $$f); \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$f); done
	install -m 0644 nginx/*.conf $(DESTDIR)$(PREFIX)/share/$(NAME)/nginx/
	install -m 0644 apache/*.conf $(DESTDIR)$(PREFIX)/share/$(NAME)/apache/
	install -m 0644 lighttpd/*.conf $(DESTDIR)$(PREFIX)/share/$(NAME)/lighttpd/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/$(NAME) $(DESTDIR)$(PREFIX)/share/doc/$(NAME) \
		$(DESTDIR)$(PREFIX)/share/$(NAME)
	rm -f $(DESTDIR)$(MANDIR)/man8/$(NAME).8 $(DESTDIR)$(MANDIR)/man5/$(NAME).conf.5 \
		$(DESTDIR)$(UNITDIR)/$(NAME).service $(DESTDIR)$(UNITDIR)/$(NAME).socket \
		$(DESTDIR)$(UNITDIR)/$(NAME)@.service $(DESTDIR)$(UNITDIR)/$(NAME)@.socket

# The Debian package (debian/), built in a private copy of the tree so that
# the build leaves nothing here; the .deb files land in $(BUILD)/deb.
deb:
	scripts/build-deb.sh $(BUILD)/deb

demo: all
	scripts/demo.sh

# B2C policy files for one tenant into policy/out (see docs/policy.md), e.g.
# make policy TENANT=contoso BASE_URL=https://mfa.contoso.com IEF_APP_ID=... PROXY_IEF_APP_ID=...
#      EXTENSIONS_APP_ID=... EXTENSIONS_OBJECT_ID=... [PACK=path/to/starter-pack]
# Own relying party PolicyIds: SIGNIN_POLICY_ID= PROFILEEDIT_POLICY_ID= PASSWORDRESET_POLICY_ID=;
# on top of customised policies: EXTENDS=<your extensions PolicyId> [AUTHY_EXTENSIONS_ID=];
# for Twilio Verify: PROVIDER=verify APP_NAME="<your app's name>" (APP_NAME is passed
# unexpanded, so a $ stays a $, and single-quoted for the shell, so any text reaches
# scripts/policy.sh, which checks it).
policy:
	scripts/policy.sh TENANT=$(TENANT) BASE_URL=$(BASE_URL) \
		EXTENSIONS_APP_ID=$(EXTENSIONS_APP_ID) EXTENSIONS_OBJECT_ID=$(EXTENSIONS_OBJECT_ID) \
		IEF_APP_ID=$(IEF_APP_ID) PROXY_IEF_APP_ID=$(PROXY_IEF_APP_ID) \
		FACEBOOK_CLIENT_ID=$(FACEBOOK_CLIENT_ID) PACK=$(PACK) \
		$(if $(SIGNIN_POLICY_ID),SIGNIN_POLICY_ID=$(SIGNIN_POLICY_ID)) \
		$(if $(PROFILEEDIT_POLICY_ID),PROFILEEDIT_POLICY_ID=$(PROFILEEDIT_POLICY_ID)) \
		$(if $(PASSWORDRESET_POLICY_ID),PASSWORDRESET_POLICY_ID=$(PASSWORDRESET_POLICY_ID)) \
		$(if $(OUT_DIR),OUT_DIR=$(OUT_DIR)) \
		EXTENDS=$(EXTENDS) AUTHY_EXTENSIONS_ID=$(AUTHY_EXTENSIONS_ID) \
		$(if $(PROVIDER),PROVIDER=$(PROVIDER)) \
		$(if $(value APP_NAME),'APP_NAME=$(subst ','\'',$(value APP_NAME))')

clean:
	rm -rf $(BUILD) $(BIN)

distclean: clean
	rm -rf build bench/results policy/out

-include $(OBJ:.o=.d) $(BUILD)/obj/main.d
