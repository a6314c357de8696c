/*
 * proto.c - parse and format the lines of step 4's two mini-protocols
 * (contracts in proto.h, grammar in PROTOCOL.md).
 *
 * Parsing is strict: one space between fields, no leading or trailing
 * blank, numbers in plain decimal. A line that bends the grammar is
 * refused, never guessed at: every line comes from a peer we do not trust.
 */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

static const char *const err_words[PERR_COUNT] = {
	[PERR_NONE] = "none",
	[PERR_UNKNOWN] = "unknown",
	[PERR_TOOLONG] = "toolong",
	[PERR_TIMEOUT] = "timeout",
	[PERR_BUSY] = "busy",
	[PERR_BADTOKEN] = "badtoken",
	[PERR_SHUTDOWN] = "shutdown",
	[PERR_CLIENTGONE] = "clientgone",
	[PERR_WDIED] = "wdied",
	[PERR_BADBYTE] = "badbyte",
};

const char *
proto_err_word(enum proto_err err)
{
	if ((int)err <= PERR_NONE || err >= PERR_COUNT)
		return "?";
	return err_words[err];
}

enum proto_err
proto_err_from_word(const char *word)
{
	int e;

	for (e = PERR_NONE + 1; e < PERR_COUNT; e++)
		if (strcmp(word, err_words[e]) == 0)
			return (enum proto_err)e;
	return PERR_NONE;
}

int
proto_text_valid(const char *line)
{
	const unsigned char *p;

	for (p = (const unsigned char *)line; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

const char *
proto_req_word(enum req_type type)
{
	switch (type) {
	case REQ_TYPE1:
		return "requetetype1";
	case REQ_TYPE2:
		return "requetetype2";
	default:
		return "?";
	}
}

/* The request named word, or REQ_NONE. */
static enum req_type
req_from_word(const char *word)
{
	if (strcmp(word, "requetetype1") == 0)
		return REQ_TYPE1;
	if (strcmp(word, "requetetype2") == 0)
		return REQ_TYPE2;
	return REQ_NONE;
}

/*
 * snprintf into buf, and turn "did not fit" into -1/EMSGSIZE: a message
 * cut short would be a different message, so it is never sent.
 */
static int
format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size || n > PROTO_LINE_MAX + 1) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/*
 * Split a copy of line at single spaces into at most max words; with
 * rest set, the last word takes everything left (spaces included).
 * Returns the number of words, or -1 when the line is too long, has an
 * empty field (two spaces, a space at either end) or a control byte.
 */
static int
split(const char *line, char *copy, char **words, int max, int rest)
{
	size_t len = strlen(line);
	int n = 0;
	char *p;

	if (len > PROTO_LINE_MAX)
		return -1;
	if (!proto_text_valid(line))
		return -1;
	memcpy(copy, line, len + 1);
	p = copy;
	while (n < max) {
		char *sp = n == max - 1 && rest ? NULL : strchr(p, ' ');

		if (*p == '\0' || *p == ' ')
			return -1;	/* an empty field */
		words[n++] = p;
		if (sp == NULL)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
	return -1;	/* more words than the grammar allows */
}

/* Parse a decimal id or count: 1 or more digits, no sign, min..max. */
static int
number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	/* "007" is refused: there is one way to write each number. */
	if (s[0] == '0' && s[1] != '\0')
		return -1;
	return parse_ulong(s, min, max, out);
}

/* Fail a parse: errno EPROTO, -1. */
static int
bad(void)
{
	errno = EPROTO;
	return -1;
}

enum req_type
proto_parse_request(const char *line)
{
	/* Exactly the word: "requetetype1 " or "REQUETETYPE1" are not requests. */
	return req_from_word(line);
}

int
proto_format_handover(char *buf, size_t size, unsigned port, const char *token)
{
	return format(buf, size, "%u %s\n", port, token);
}

int
proto_format_error(char *buf, size_t size, enum proto_err err, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return format(buf, size, "error %s\n", proto_err_word(err));
	return format(buf, size, "error %s %s\n", proto_err_word(err), text);
}

int
proto_format_accepted(char *buf, size_t size, unsigned long id, enum req_type type)
{
	return format(buf, size, "ok %lu %s\n", id, proto_req_word(type));
}

int
proto_format_result(char *buf, size_t size, unsigned long id, const char *text)
{
	return format(buf, size, "result %lu %s\n", id, text);
}

int
proto_format_end(char *buf, size_t size, unsigned long id, unsigned long count)
{
	return format(buf, size, "end %lu %lu\n", id, count);
}

int
proto_parse_reply(const char *line, struct reply *r)
{
	char copy[PROTO_BUF], *w[3];
	unsigned long v;
	int n;

	memset(r, 0, sizeof *r);
	n = split(line, copy, w, 3, 1);
	if (n < 2)
		return bad();
	if (strcmp(w[0], "error") == 0) {
		/* "error busy" or "error busy every w is busy" */
		r->kind = REPLY_ERROR;
		r->err = proto_err_from_word(w[1]);
		if (r->err == PERR_NONE)
			return bad();
		if (n == 3)
			snprintf(r->text, sizeof r->text, "%s", w[2]);
		return 0;
	}
	if (strcmp(w[0], "ok") == 0 || strcmp(w[0], "end") == 0 ||
	    strcmp(w[0], "result") == 0) {
		if (n != 3 || number(w[1], 1, (unsigned long)-1, &r->id) == -1)
			return bad();
		if (w[0][0] == 'o') {
			r->kind = REPLY_ACCEPTED;
			r->type = req_from_word(w[2]);
			return r->type == REQ_NONE ? bad() : 0;
		}
		if (w[0][0] == 'e') {
			r->kind = REPLY_END;
			return number(w[2], 0, (unsigned long)-1, &r->count) == -1 ? bad() : 0;
		}
		r->kind = REPLY_RESULT;
		snprintf(r->text, sizeof r->text, "%s", w[2]);
		return 0;
	}
	/* "<port> <token>": the only line that starts with a digit. */
	if (n != 2 || number(w[0], 1, 65535, &v) == -1 || !proto_token_valid(w[1]))
		return bad();
	r->kind = REPLY_HANDOVER;
	r->port = (unsigned)v;
	memcpy(r->token, w[1], PROTO_TOKEN_LEN + 1);
	return 0;
}

int
proto_format_job(char *buf, size_t size, const struct job *job)
{
	if (job->type == REQ_NONE || job->id == 0 || !proto_token_valid(job->token)) {
		errno = EINVAL;
		return -1;
	}
	return format(buf, size, "%s %lu %s\n", proto_req_word(job->type),
	    job->id, job->token);
}

int
proto_parse_job(const char *line, struct job *job)
{
	/* TODO 4.1: parse "<request> <id> <token>" (see proto_parse_report
	 * below for the tools: split(), number(), bad()). Refuse anything
	 * else with EPROTO: why must w check a line that only d can write? */
	/* BEGIN SOLUTION 4.1 */
	char copy[PROTO_BUF], *w[3];

	memset(job, 0, sizeof *job);
	if (split(line, copy, w, 3, 0) != 3)
		return bad();
	job->type = req_from_word(w[0]);
	if (job->type == REQ_NONE || number(w[1], 1, (unsigned long)-1, &job->id) == -1 ||
	    !proto_token_valid(w[2]))
		return bad();
	memcpy(job->token, w[2], PROTO_TOKEN_LEN + 1);
	return 0;
	/* END SOLUTION */
	/* STUB 4.1:
	memset(job, 0, sizeof *job);
	return bad();
	*/
}

int
proto_format_report(char *buf, size_t size, const struct report *rep)
{
	switch (rep->kind) {
	case REP_READY:
		return format(buf, size, "ready %u\n", rep->port);
	case REP_DEBUT:
		return format(buf, size, "debuttraitement %lu\n", rep->id);
	case REP_FIN:
		return format(buf, size, "fintraitement %lu\n", rep->id);
	case REP_ERR:
		return format(buf, size, "errtraitement %lu %s\n", rep->id,
		    proto_err_word(rep->err));
	}
	errno = EINVAL;
	return -1;
}

int
proto_parse_report(const char *line, struct report *rep)
{
	char copy[PROTO_BUF], *w[3];
	unsigned long v;
	int n;

	memset(rep, 0, sizeof *rep);
	n = split(line, copy, w, 3, 0);
	if (n < 2)
		return bad();
	if (strcmp(w[0], "ready") == 0 && n == 2) {
		if (number(w[1], 1, 65535, &v) == -1)
			return bad();
		rep->kind = REP_READY;
		rep->port = (unsigned)v;
		return 0;
	}
	if (number(w[1], 1, (unsigned long)-1, &rep->id) == -1)
		return bad();
	if (strcmp(w[0], "debuttraitement") == 0 && n == 2)
		rep->kind = REP_DEBUT;
	else if (strcmp(w[0], "fintraitement") == 0 && n == 2)
		rep->kind = REP_FIN;
	else if (strcmp(w[0], "errtraitement") == 0 && n == 3 &&
	    (rep->err = proto_err_from_word(w[2])) != PERR_NONE)
		rep->kind = REP_ERR;
	else
		return bad();
	return 0;
}

int
proto_token_new(char token[PROTO_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	/* Random bytes are read 64 tokens at a time: one system call for
	 * 64 requests instead of one each. */
	static unsigned char pool[64 * PROTO_TOKEN_LEN / 2];
	static size_t left;
	unsigned char *raw;
	size_t i;
	ssize_t n;

	if (left == 0) {
		/* getrandom() reads the kernel's generator without a
		 * descriptor; rand() would be predictable, and a guessed
		 * token is a stolen slot. */
		do
			n = getrandom(pool, sizeof pool, 0);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof pool) {
			if (n != -1)
				errno = EIO;
			return -1;
		}
		left = sizeof pool;
	}
	raw = pool + sizeof pool - left;
	for (i = 0; i < PROTO_TOKEN_LEN / 2; i++) {
		token[2 * i] = hex[raw[i] >> 4];
		token[2 * i + 1] = hex[raw[i] & 0xf];
	}
	token[PROTO_TOKEN_LEN] = '\0';
	/* Used bytes are wiped: they must never serve twice. */
	memset(raw, 0, PROTO_TOKEN_LEN / 2);
	left -= PROTO_TOKEN_LEN / 2;
	return 0;
}

int
proto_token_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PROTO_TOKEN_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[PROTO_TOKEN_LEN] == '\0';
}

int
proto_token_equal(const char *a, const char *b)
{
	unsigned diff = 0;
	size_t i;

	if (!proto_token_valid(a) || !proto_token_valid(b))
		return 0;
	/* No early exit: strcmp() would return sooner the sooner a guess
	 * goes wrong, and the time it takes tells an attacker how far it got. */
	for (i = 0; i < PROTO_TOKEN_LEN; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}
