/*
 * t/size.c - `make size`: how much there is to read, in C tokens.
 *
 * usage: t/size FILE...   (one line a file, "name tokens", then "total N")
 *
 * Tokens are what a compiler's lexer sees before preprocessing, and what a
 * reader has to parse: comments and whitespace count nothing, so an
 * explanation is free and layout cannot change the count; a string or
 * character literal counts one; so does each identifier, number and
 * operator.  Preprocessor lines count their tokens.  This counts as
 * ../shared/tools/ctokens does, token for token, so the project needs
 * nothing outside its tree to measure itself.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (4u << 20)        /* bytes in one file we count */

/* The operators of more than one character, longest first. */
static const char *const ops[] = {
	"...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==",
	"!=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "##",
	NULL
};

/* Is c part of an identifier or a number? */
static int word(int c)
{
	return isalnum(c) || c == '_';
}

/* The length of the quoted literal at s (it starts with its quote), or 0
 * if it has no closing quote on its line. */
static size_t literal(const char *s)
{
	size_t i;

	for (i = 1; s[i] && s[i] != '\n'; i++) {
		if (s[i] == '\\' && s[i + 1] && s[i + 1] != '\n') {
			i++;
			continue;
		}
		if (s[i] == s[0])
			return i + 1;
	}
	return 0;
}

/* The length of the token at s, which is not a space, a comment or a
 * literal. */
static size_t token(const char *s)
{
	size_t i = 0;
	int k;

	if (word((unsigned char)s[0]) && !isdigit((unsigned char)s[0])) {
		while (word((unsigned char)s[i]))
			i++;
		return i;
	}
	if (isdigit((unsigned char)s[0]) ||
	    (s[0] == '.' && isdigit((unsigned char)s[1]))) {
		i = s[0] == '.' ? 2 : 1;
		while (word((unsigned char)s[i]) || s[i] == '.')
			i++;
		return i;
	}
	for (k = 0; ops[k]; k++)
		if (strncmp(s, ops[k], strlen(ops[k])) == 0)
			return strlen(ops[k]);
	return 1;
}

/* The tokens of the text s. */
static long count(const char *s)
{
	long n = 0;
	size_t len;
	const char *end;

	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
		} else if (s[0] == '/' && s[1] == '*') {
			end = strstr(s + 2, "*/");
			if (end) {
				s = end + 2;
			} else {
				n++;            /* an unclosed comment: "/" */
				s++;
			}
		} else if (s[0] == '/' && s[1] == '/') {
			s += strcspn(s, "\n");
		} else if ((*s == '"' || *s == '\'') && (len = literal(s))) {
			s += len;
			n++;
		} else {
			s += token(s);
			n++;
		}
	}
	return n;
}

/* Count each file named; print its tokens, then the total. */
int main(int argc, char **argv)
{
	static char text[MAX_FILE + 1];
	long total = 0, n;
	size_t len;
	FILE *f;
	int i;

	for (i = 1; i < argc; i++) {
		f = fopen(argv[i], "r");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		len = fread(text, 1, MAX_FILE, f);
		fclose(f);
		if (len == MAX_FILE) {
			fprintf(stderr, "size: %s is too big\n", argv[i]);
			return 1;
		}
		text[len] = 0;
		n = count(text);
		printf("%-16s %7ld\n", argv[i], n);
		total += n;
	}
	printf("%-16s %7ld\n", "total", total);
	return 0;
}
