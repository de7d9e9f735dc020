# peerchain - portable make (POSIX): no GNU functions, no pattern rules.
#   make              build ./peerchain
#   make test         build and run every test; last line "N passed, M failed"
#   make unit         the C unit tests only (RUN=qemu-s390x for a cross build)
#   make localnet     run a local network of N=5 nodes and show it working;
#                     ONCE=1 stops after the tour, else Ctrl-C stops it
#   make bench        print benchmark figures, "name value"; ONLY=crypto
#                     for one group
#                     (crypto, chain, net, gossip, attack, light, mine,
#                     scale: N=1000 nodes unless N is given)
#   make fuzz         build the fuzz targets (clang's libFuzzer) and run each
#                     for FUZZ_S seconds (default 60)
#   make size         the node's size in C tokens, a file a line, and the
#                     total (README, "Reading the code")
#   make small        peerchain-small: the node built for size (gcc or
#                     clang with GNU ld: -Os, no unwind tables, code not
#                     page-aligned apart, stripped); README, "Porting"
#   make everything   build the node, every test program and the bench
#   make install      copy peerchain to $(DESTDIR)$(PREFIX)/bin and its
#                     man page to $(DESTDIR)$(PREFIX)/share/man/man1
#   make uninstall    remove both
.POSIX:

CC = cc
CFLAGS = -std=c99 -pedantic -Wall -Wextra -O2
LDFLAGS =
PREFIX = /usr/local
RUN =
ONLY =
N = 5
ONCE =
FUZZ_S = 60
SMALL = -std=c99 -Os -fno-asynchronous-unwind-tables -Wl,-z,noseparate-code -s

# The layers, bottom up: each object uses only those before it
# (t/layers.sh checks it from the object files).  This is the one list of
# the node's files: the tests and the fuzz build read it from here.
OBJ = sha256.o util.o lms.o block.o chain.o wallet.o net.o gossip.o node.o
CRYPTO = sha256.o util.o lms.o
LEDGER = $(CRYPTO) block.o chain.o wallet.o
WIRE = sha256.o util.o net.o
TESTS = t/sha256_test t/lms_test t/chain_test t/wallet_test t/wire_test \
        t/spec_test
SCRIPTS = t/layout.sh t/layers.sh t/cli_test.sh t/ledger_test.sh \
          t/net_test.sh t/discovery_test.sh t/gossip_test.sh \
          t/legacy_test.sh t/hostile_test.sh t/hostile2_test.sh \
          t/light_test.sh t/hostile3_test.sh t/privacy_test.sh

all: peerchain

peerchain: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ)

util.o: util.c node.h
sha256.o: sha256.c node.h
lms.o: lms.c node.h
block.o: block.c node.h
chain.o: chain.c node.h
wallet.o: wallet.c node.h
net.o: net.c node.h
gossip.o: gossip.c node.h
node.o: node.c node.h

t/test.o: t/test.c t/test.h
	$(CC) $(CFLAGS) -c -o $@ t/test.c

t/sha256_test: t/sha256_test.c t/test.h t/test.o $(CRYPTO)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/sha256_test.c t/test.o $(CRYPTO)

t/lms_test: t/lms_test.c t/test.h t/test.o $(CRYPTO)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/lms_test.c t/test.o $(CRYPTO)

t/chain_test: t/chain_test.c t/test.h t/test.o $(LEDGER)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/chain_test.c t/test.o $(LEDGER)

t/wallet_test: t/wallet_test.c t/test.h t/test.o $(LEDGER)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/wallet_test.c t/test.o $(LEDGER)

t/wire_test: t/wire_test.c t/test.h t/test.o $(WIRE)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/wire_test.c t/test.o $(WIRE)

t/spec_test: t/spec_test.c t/test.h t/test.o $(LEDGER) net.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/spec_test.c t/test.o $(LEDGER) net.o

t/testpeer: t/testpeer.c $(LEDGER) net.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/testpeer.c $(LEDGER) net.o

t/bench: t/bench.c $(LEDGER)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/bench.c $(LEDGER)

t/size: t/size.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ t/size.c

small:
	$(CC) $(SMALL) -o peerchain-small `echo $(OBJ) | sed 's/\.o/.c/g'`

everything: all t/testpeer t/bench t/size $(TESTS)

test: peerchain t/testpeer $(TESTS)
	@OBJ='$(OBJ)' RUN='$(RUN)' sh t/run.sh $(TESTS) $(SCRIPTS)

size: t/size
	@./t/size `echo $(OBJ) | sed 's/\.o/.c/g'` node.h

unit: $(TESTS)
	@RUN='$(RUN)' sh t/run.sh $(TESTS)

localnet: peerchain
	@N='$(N)' ONCE='$(ONCE)' sh t/localnet.sh

bench: peerchain t/testpeer t/bench
	@N='$(N)' ./t/bench $(ONLY)

fuzz:
	@OBJ='$(OBJ)' FUZZ_S='$(FUZZ_S)' sh t/fuzz/run.sh

install: peerchain
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp peerchain $(DESTDIR)$(PREFIX)/bin/peerchain
	chmod 755 $(DESTDIR)$(PREFIX)/bin/peerchain
	mkdir -p $(DESTDIR)$(PREFIX)/share/man/man1
	cp peerchain.1 $(DESTDIR)$(PREFIX)/share/man/man1/peerchain.1
	chmod 644 $(DESTDIR)$(PREFIX)/share/man/man1/peerchain.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/peerchain
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/peerchain.1

clean:
	rm -f peerchain peerchain-small $(OBJ) t/test.o $(TESTS) t/bench
	rm -f t/testpeer t/size
	rm -f localnet.dot localnet.svg localnet.png

.PHONY: all small everything test unit size localnet bench fuzz install \
        uninstall clean
