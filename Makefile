# tomogan: plain GNU make.  Targets: all (default), deps, check, demo, bench, fuzz,
# install, lint-man, clean.  Programs go to bin/, objects to build/.
#
# Every filters/NAME.c becomes bin/NAME, every libstream/**/*.c goes into
# build/libtomogan.a, every kernels/*.cl is embedded into the library, every
# tests/unit/test_*.c becomes a test program and every tests/cli/test_*.sh
# is a command-line test: new files need no Makefile change.

PREFIX ?= /usr/local
CC ?= cc
OPT ?= -O2 -g
PKGS = OpenCL clblast libpng libtiff-4 hdf5 libzstd openblas lapacke
WARN = -Wall -Wextra -Werror -Wno-deprecated-declarations
# Recursive (=) so pkg-config runs after `deps` has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) \
	-Ilibstream -Ibuild -DCL_TARGET_OPENCL_VERSION=120 \
	-DCL_USE_DEPRECATED_OPENCL_1_2_APIS $(PKG_CFLAGS) $(CFLAGS)
# --as-needed: a program loads only the libraries it uses (OpenBLAS starts
# threads at load time, HDF5 and CLBlast cost start-up time).
ALL_LIBS = -Wl,--as-needed $(PKG_LIBS) -lm -lpthread $(LDLIBS)

LIB_SRC = $(sort $(wildcard libstream/*.c libstream/*/*.c))
LIB_OBJ = $(LIB_SRC:%.c=build/%.o) build/kernels_embed.o
KERNELS = $(sort $(wildcard kernels/*.cl kernels/*.h))
HEADERS = $(wildcard libstream/*.h libstream/*/*.h kernels/*.h)
PROGS = $(patsubst filters/%.c,bin/%,$(sort $(wildcard filters/*.c)))
UNIT = $(patsubst tests/unit/%.c,build/tests/%,$(sort $(wildcard tests/unit/test_*.c)))
CLI = $(sort $(wildcard tests/cli/test_*.sh))
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)
MAN7 = $(wildcard man/*.7)

.PHONY: all deps check bench fuzz install lint-man clean
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

all: $(PROGS)

# Installs missing Debian packages once (stamp), as the README promises.
deps: build/.deps
build/.deps: tools/deps.sh
	@mkdir -p build
	sh tools/deps.sh
	@touch $@

build/embed: tools/embed.c | build/.deps
	$(CC) -O1 -o $@ $<

build/kernels_embed.c: build/embed $(KERNELS)
	build/embed $@ $(KERNELS)

build/kernels_embed.o: build/kernels_embed.c libstream/kernels_embed.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/%.o: %.c $(HEADERS) | build/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/libtomogan.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

bin/%: build/filters/%.o build/libtomogan.a
	@mkdir -p bin
	$(CC) $(OPT) -o $@ $< build/libtomogan.a $(ALL_LIBS)

build/tests/%: build/tests/unit/%.o build/libtomogan.a
	@mkdir -p build/tests
	$(CC) $(OPT) -o $@ $< build/libtomogan.a $(ALL_LIBS)

# The test command of the README.  Ends with "N passed, N failed[, N skipped]".
check: all $(UNIT)
	@sh tests/run.sh $(UNIT) $(CLI)

bench: all
	sh tests/bench/run_all.sh

# A small version of pipelines/thesis.mk on the shipped real CT sample, with
# a progress line per stage; the report goes to DEMO_OUT/report.md.
DEMO_OUT ?= build/demo
.PHONY: demo
demo: all
	@MAKE="$(MAKE)" sh pipelines/demo.sh $(DEMO_OUT)

# Fuzzes the stream reader with libFuzzer (clang); FUZZ_SECONDS to taste.
FUZZ_SECONDS ?= 60
fuzz: build/.deps
	@mkdir -p build/fuzz build/fuzz/corpus
	clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Ilibstream -o build/fuzz/fuzz_reader tests/fuzz/fuzz_reader.c \
		libstream/tstream.c libstream/meta.c libstream/xxh64.c -lzstd -lm
	cp tests/fuzz/corpus/* build/fuzz/corpus/ 2>/dev/null || true
	build/fuzz/fuzz_reader -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		-rss_limit_mb=2048 build/fuzz/corpus

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	cp $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(MAN1),cp $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN5),cp $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	$(if $(MAN7),cp $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7/)

lint-man:
	mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7)

clean:
	rm -rf bin build
