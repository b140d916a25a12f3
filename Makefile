# nacre: plain Makefile. `make` builds nacred; `make check` installs what the
# tests need (apt-get), builds normal and sanitizer binaries and runs every suite.

NACRE_VERSION = $(shell sed -n 's/^\#define NACRE_VERSION "\(.*\)"/\1/p' src/nacred.h)
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/sbin
MANDIR   = $(PREFIX)/share/man
SYSCONFDIR ?= /etc

CC      ?= cc
# libcurl + jansson: ACME's HTTPS and JSON; ldns: CAA queries (src/acme/)
PKGS     = libevent libevent_pthreads openssl libconfig libcbor libcurl jansson ldns
# '=' (not ':='): pkg-config runs only when a recipe needs it, after deps.sh.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
          -Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# reproducible: the source tree's path is not in the binaries (debug info,
# __FILE__), so the same commit built anywhere gives the same bytes
REPRO   = -ffile-prefix-map=$(CURDIR)=.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(REPRO) -Iinclude -Isrc -Isrc/verify $(PKG_CFLAGS)
LDLIBS  = $(PKG_LIBS) -lpthread

# NACRE_TEST_HOOKS: test-only paths (the TLS key export the attack tests
# of fresh evidence need, src/tls.c); never in a release build
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined -DNACRE_TEST_HOOKS

B  = build
BA = build/asan

# libnacre (the verifier library, src/verify/) is linked into nacred too
LIB_SRC    = $(wildcard src/verify/*.c)
DAEMON_SRC = $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard src/records/*.c) \
             $(wildcard src/acme/*.c) $(wildcard src/admin/*.c) $(wildcard src/tee/*.c) \
             $(LIB_SRC)
DAEMON_OBJ = $(DAEMON_SRC:src/%.c=$(B)/obj/%.o)
ASAN_OBJ   = $(DAEMON_SRC:src/%.c=$(BA)/obj/%.o)

LIB_OBJ   = $(LIB_SRC:src/%.c=$(B)/obj/%.o)
LIB_PIC   = $(LIB_SRC:src/%.c=$(B)/pic/%.o)
LIB_PKGS  = openssl libconfig libcbor jansson
# the soname's major (libnacre.so.N): bumped on every incompatible change of
# include/nacre/verify.h's ABI; the exported symbols are those of
# src/verify/libnacre.map (README.md, "Library ABI")
LIB_VERSION = 1
LIB_MAP   = src/verify/libnacre.map
# the CLI, src/cli/: links libnacre and the daemon's address/PROXY code
CLI_SRC   = $(wildcard src/cli/*.c)
CLI_OBJ   = $(CLI_SRC:src/%.c=$(B)/obj/%.o)
LIBDIR    = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include

UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_ABIN = $(UNIT_SRC:tests/unit/%.c=$(BA)/tests/%)
TOOL_SRC  = $(wildcard tests/tools/*.c)
TOOL_BIN  = $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

.PHONY: FORCE enclave-rootfs reproducible-check demo-acme soak bench all lib check check-bins asan tools fuzz-bins fuzz install uninstall clean demo deps

all: $(B)/nacred lib $(if $(CLI_SRC),$(B)/nacre)

lib: $(B)/libnacre.a $(B)/libnacre.so $(B)/pkgconfig/nacre.pc

$(B)/pic/%.o: src/%.c $(wildcard src/*.h src/*/*.h include/nacre/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=default -c -o $@ $<

$(B)/libnacre.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libnacre.so: $(LIB_PIC) $(LIB_MAP)
	$(CC) -shared -Wl,-soname,libnacre.so.$(LIB_VERSION) \
	  -Wl,--version-script,$(LIB_MAP) -o $@.$(LIB_VERSION) $(LIB_PIC) \
	  $(shell pkg-config --libs $(LIB_PKGS)) -lpthread
	ln -sf libnacre.so.$(LIB_VERSION) $@

# the directories nacre.pc names; rewritten only when they change, so that
# `make install PREFIX=/usr` after a plain `make` remakes nacre.pc
PC_DIRS = $(PREFIX) $(LIBDIR) $(INCLUDEDIR)
$(B)/pkgconfig/dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(PC_DIRS)' | cmp -s - $@ || echo '$(PC_DIRS)' >$@
FORCE:

# nacre.pc for an installed libnacre; nacre-uninstalled.pc for this tree
$(B)/pkgconfig/nacre.pc: Makefile $(B)/pkgconfig/dirs
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' \
	  'libdir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))' \
	  'includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))' '' \
	  'Name: nacre' 'Description: verify TEE attestation (AWS Nitro) in TLS certificates' \
	  'Version: $(NACRE_VERSION)' 'Requires: openssl' 'Requires.private: libconfig libcbor jansson' \
	  'Libs: -L$${libdir} -lnacre' 'Libs.private: -lpthread' 'Cflags: -I$${includedir}' >$@
	printf '%s\n' 'libdir=$(CURDIR)/$(B)' 'includedir=$(CURDIR)/include' '' \
	  'Name: nacre' 'Description: libnacre from the build tree' \
	  'Version: $(NACRE_VERSION)' 'Requires: openssl' 'Requires.private: libconfig libcbor jansson' \
	  'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lnacre' 'Cflags: -I$${includedir}' \
	  >$(@D)/nacre-uninstalled.pc

$(B)/nacre: $(CLI_OBJ) $(DAEMON_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: src/%.c src/nacred.h $(wildcard src/*.h src/*/*.h include/nacre/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BA)/obj/%.o: src/%.c src/nacred.h $(wildcard src/*.h src/*/*.h include/nacre/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(B)/nacred: $(B)/obj/main.o $(DAEMON_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BA)/nacred: $(BA)/obj/main.o $(ASAN_OBJ)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BA)/nacre: $(CLI_SRC:src/%.c=$(BA)/obj/%.o) $(ASAN_OBJ)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(DAEMON_OBJ) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(DAEMON_OBJ) $(LDLIBS)

$(BA)/tests/%: tests/unit/%.c $(ASAN_OBJ) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Itests/unit -o $@ $< $(ASAN_OBJ) $(LDLIBS)

# test tools (upstream app, load client) link the daemon's objects for
# PROXY v2 parsing and address syntax.
$(B)/tools/%: tests/tools/%.c $(DAEMON_OBJ) $(wildcard tests/tools/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/tools -o $@ $< $(DAEMON_OBJ) $(LDLIBS)

# tlsclient also runs inside the vsock test's QEMU guest: libssl only.
$(B)/tools/tlsclient: tests/tools/tlsclient.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lssl -lcrypto

# libFuzzer targets need clang; each links the daemon sources it exercises.
FUZZ_CC = clang
$(B)/fuzz/%: tests/fuzz/%.c $(DAEMON_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Iinclude -Isrc -Isrc/verify $(PKG_CFLAGS) -o $@ $< $(DAEMON_SRC) $(LDLIBS)

asan: $(BA)/nacred $(UNIT_ABIN) $(if $(CLI_SRC),$(BA)/nacre)
tools: $(TOOL_BIN) $(B)/bench/hsload $(B)/bench/sslfloor
fuzz-bins: $(FUZZ_BIN)

check-bins: all $(UNIT_BIN) asan tools fuzz-bins $(B)/enclave/nacre-init

deps:
	@sh tests/deps.sh build test

# the builds in parallel, one job per core (JOBS=1 for a serial build)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check:
	@sh tests/deps.sh build test vsock
	@echo "building (make -j$(JOBS) check-bins, log in $(B).log) ..."
	@$(MAKE) --no-print-directory -j$(JOBS) check-bins >$(B).log 2>&1 || { mkdir -p $(B); cat $(B).log; exit 1; }
	@sh tests/run

# the same sources built in two other directories, a second apart, give
# bit-identical nacred, nacre and libnacre.so (part of make check)
reproducible-check:
	@sh tests/deps.sh build
	@sh tests/reproducible.sh

# the enclave image's file tree (deploy/nitro, docs/deploy-nitro.md):
# build/enclave/rootfs and rootfs.tar, byte-for-byte reproducible
ENCLAVE_APP ?= $(B)/tools/upstream
$(B)/enclave/nacre-init: deploy/nitro/nacre-init.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
enclave-rootfs: all tools $(B)/enclave/nacre-init
	@sh deploy/nitro/mkrootfs.sh $(B)/enclave $(ENCLAVE_APP)

# make soak [DURATION=600]: mixed load on the release build, RSS and
# descriptors sampled; report and plot in build/soak/ (not in make check)
DURATION ?= 600
soak:
	@sh tests/deps.sh build test bench
	@$(MAKE) --no-print-directory all tools
	@DURATION=$(DURATION) sh tests/soak/soak.sh

# longer fuzzing: FUZZ_SECONDS per target
FUZZ_SECONDS ?= 300
fuzz:
	@sh tests/deps.sh build test
	@$(MAKE) --no-print-directory fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# make bench [QUICK=1]: nacred against hitch and HAProxy on this machine
bench:
	@sh tests/deps.sh build test bench
	@$(MAKE) --no-print-directory all tools
	@QUICK=$(QUICK) sh bench/run.sh
	@QUICK=$(QUICK) sh bench/fresh.sh

# benchmark helpers: libssl only
$(B)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lssl -lcrypto

demo:
	@sh tests/deps.sh build
	@$(MAKE) --no-print-directory all tools
	@sh tests/demo.sh

# make demo-acme: nacred gets a certificate from Pebble (an ACME test CA)
# for an enclave key; curl trusts it with Pebble's root, nacre verifies
# the attested one on the same port
demo-acme:
	@sh tests/deps.sh build test
	@$(MAKE) --no-print-directory all tools
	@sh tests/demo-acme.sh

# the systemd layout: nacred.service, plus /run/nacre-app (the app's socket
# directory, tmpfiles.d) and its group nacre-app (sysusers.d); README.md,
# "Running under systemd"
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(B)/nacred $(DESTDIR)$(BINDIR)/nacred
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/nacre $(DESTDIR)$(PREFIX)/bin/nacre
	install -m 0644 docs/nacre.1 $(DESTDIR)$(MANDIR)/man1/nacre.1
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/nacre
	install -m 0644 $(B)/libnacre.a $(DESTDIR)$(LIBDIR)/libnacre.a
	install -m 0755 $(B)/libnacre.so.$(LIB_VERSION) $(DESTDIR)$(LIBDIR)/libnacre.so.$(LIB_VERSION)
	ln -sf libnacre.so.$(LIB_VERSION) $(DESTDIR)$(LIBDIR)/libnacre.so
	install -m 0644 include/nacre/*.h $(DESTDIR)$(INCLUDEDIR)/nacre/
	install -m 0644 $(B)/pkgconfig/nacre.pc $(DESTDIR)$(LIBDIR)/pkgconfig/nacre.pc
	install -m 0644 docs/nacred.8 $(DESTDIR)$(MANDIR)/man8/nacred.8
	install -m 0644 docs/nacred.conf.5 $(DESTDIR)$(MANDIR)/man5/nacred.conf.5
	install -d $(DESTDIR)$(SYSCONFDIR)/nacre
	test -e $(DESTDIR)$(SYSCONFDIR)/nacre/nacred.conf || \
	  install -m 0644 conf/nacred.conf $(DESTDIR)$(SYSCONFDIR)/nacre/nacred.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed -e 's|/usr/local/sbin|$(BINDIR)|g' -e 's|/etc/nacre|$(SYSCONFDIR)/nacre|g' \
	  systemd/nacred.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/nacred.service
	# the parent instance's side: nacre forward (nacre(1), FORWARD)
	sed -e 's|/usr/local/bin|$(PREFIX)/bin|g' -e 's|/etc/nacre|$(SYSCONFDIR)/nacre|g' \
	  systemd/nacre-forward.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/nacre-forward.service
	test -e $(DESTDIR)$(SYSCONFDIR)/nacre/forward.conf || \
	  install -m 0644 deploy/nitro/forward.conf $(DESTDIR)$(SYSCONFDIR)/nacre/forward.conf
	install -d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d $(DESTDIR)$(PREFIX)/lib/sysusers.d
	install -m 0644 systemd/nacre.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/nacre.conf
	install -m 0644 systemd/nacre.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/nacre.conf

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/nacre
	rm -f $(DESTDIR)$(LIBDIR)/libnacre.a $(DESTDIR)$(LIBDIR)/libnacre.so* \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/nacre.pc
	rm -f $(DESTDIR)$(PREFIX)/bin/nacre $(DESTDIR)$(MANDIR)/man1/nacre.1
	rm -f $(DESTDIR)$(BINDIR)/nacred $(DESTDIR)$(MANDIR)/man8/nacred.8 \
	  $(DESTDIR)$(MANDIR)/man5/nacred.conf.5 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system/nacred.service \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system/nacre-forward.service \
	  $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/nacre.conf \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d/nacre.conf

clean:
	rm -rf $(B) $(B).log
