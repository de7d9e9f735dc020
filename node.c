/*
 * node.c - peerchain's main() and its command line.
 *
 * peerchain is a small proof-of-work blockchain node.  Every node is client
 * and server at once: it finds peers, gossips transactions and blocks,
 * checks everything itself and keeps the chain with the most work.  What
 * stands today is the ground the rest is built on:
 *
 *   sha256.c  SHA-256, the one hash function of the whole system.  Block
 *             and transaction ids, proof of work and merkle roots are
 *             (double) SHA-256; so are the signatures.
 *   lms.c     LMS signatures (RFC 8554): hash-based, so the chain trusts
 *             nothing but SHA-256.  A key signs at most 2^h messages, one
 *             per leaf of its Merkle tree.
 *   node.h    the byte-order helpers every format is written with, and the
 *             functions each file offers the others.
 *
 * The chain, the network and gossip come in chain.c, net.c and gossip.c.
 * The command line is a table of subcommands; start reading main().
 */
#include <stdio.h>
#include <string.h>

#include "node.h"

/* A subcommand: `peerchain NAME ARGS...`. */
struct command {
	const char *name;                  /* what the user types */
	int (*run)(int argc, char **argv); /* returns the exit status */
	const char *help;                  /* one line for `peerchain help` */
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
	{ "help", cmd_help, "list the commands" },
	{ "version", cmd_version, "print the version" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Print the usage and every command to f. */
static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: peerchain COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

/* `peerchain help`: the list of commands, on stdout. */
static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* `peerchain version`: the version, on stdout. */
static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("peerchain %s\n", PEERCHAIN_VERSION);
	return 0;
}

/* Find the command named argv[1] and run it; -h and --help mean help,
 * --version means version.  Exit status 2 means a usage error. */
int main(int argc, char **argv)
{
	const char *name;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
		name = "help";
	else if (strcmp(name, "--version") == 0)
		name = "version";
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "peerchain: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
