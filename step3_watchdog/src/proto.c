/*
 * proto.c - the messages between d and a w, as in step 2: format, parse,
 * send, receive (contracts in proto.h). Framing (lines that arrive in
 * pieces, or several in one read)
 * is the line reader's job (common/io.h); this module turns lines into
 * messages and back.
 */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The words, indexed by enum proto_msg. */
static const char *const words[] = {
	[PROTO_PING] = "ping",
	[PROTO_PONG] = "pong",
};
#define NWORDS (sizeof words / sizeof words[0])

const char *
proto_word(enum proto_msg m)
{
	return (size_t)m < NWORDS ? words[m] : "?";
}

int
proto_format(enum proto_msg m, char *buf, size_t size)
{
	int n;

	if ((size_t)m >= NWORDS) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, size, "%s\n", words[m]);
	if (n < 0 || (size_t)n >= size) {
		errno = ENOBUFS;
		return -1;
	}
	return n;
}

int
proto_parse(const char *line, enum proto_msg *m)
{
	size_t i;

	for (i = 0; i < NWORDS; i++) {
		if (strcmp(line, words[i]) == 0) {
			*m = (enum proto_msg)i;
			return 0;
		}
	}
	errno = EBADMSG;
	return -1;
}

int
proto_send(int fd, enum proto_msg m)
{
	char line[PROTO_LINE_MAX];
	int len = proto_format(m, line, sizeof line);

	if (len == -1)
		return -1;
	/* One write of a few bytes: a pipe never splits a write of up to
	 * PIPE_BUF bytes, but write_all() would finish a short one anyway. */
	return write_all(fd, line, (size_t)len) == -1 ? -1 : 0;
}

int
proto_recv(struct line_reader *lr, enum proto_msg *m)
{
	char line[PROTO_LINE_MAX];
	int got = lr_getline(lr, line, sizeof line);

	if (got != 1)
		return got;
	return proto_parse(line, m) == -1 ? -1 : 1;
}
