/*
 * io.c - complete writes and a bounded line reader (contracts in io.h).
 */
#include "io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

ssize_t
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t left = len;

	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n == -1) {
			if (errno == EINTR)
				continue;	/* a signal arrived first: retry */
			return -1;
		}
		/* A short write is not an error: send the rest. */
		p += n;
		left -= (size_t)n;
	}
	return (ssize_t)len;
}

void
lr_init(struct line_reader *lr, int fd)
{
	lr->fd = fd;
	lr->len = 0;
}

ssize_t
lr_fill(struct line_reader *lr)
{
	ssize_t n;

	if (lr->len == sizeof lr->buf) {
		errno = EMSGSIZE;
		return -1;
	}
	do
		n = read(lr->fd, lr->buf + lr->len, sizeof lr->buf - lr->len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		lr->len += (size_t)n;
	return n;
}

int
lr_next(struct line_reader *lr, char *line, size_t size)
{
	char *nl = memchr(lr->buf, '\n', lr->len);
	size_t linelen;

	if (nl == NULL) {
		/* No end yet: refuse as soon as the line cannot fit any more,
		 * rather than buffering a hostile peer's endless line. */
		if (lr->len >= size || lr->len == sizeof lr->buf) {
			errno = EMSGSIZE;
			return -1;
		}
		return 0;
	}
	linelen = (size_t)(nl - lr->buf);
	if (linelen >= size) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(line, lr->buf, linelen);
	/* Keep what follows the line (the start of the next one). */
	lr->len -= (size_t)(nl + 1 - lr->buf);
	memmove(lr->buf, nl + 1, lr->len);
	/* A NUL would end the C string early: "requetetype1\0junk" would
	 * pass for "requetetype1". The line is refused, never cut short. */
	if (memchr(line, '\0', linelen) != NULL) {
		errno = EILSEQ;
		return -1;
	}
	/* Accept "\r\n" too: telnet and some nc builds send it. */
	if (linelen > 0 && line[linelen - 1] == '\r')
		linelen--;
	line[linelen] = '\0';
	return 1;
}

int
lr_getline(struct line_reader *lr, char *line, size_t size)
{
	for (;;) {
		int got = lr_next(lr, line, size);
		ssize_t n;

		if (got != 0)
			return got;
		n = lr_fill(lr);
		if (n == -1)
			return -1;
		if (n == 0) {
			if (lr->len == 0)
				return 0;
			errno = EPROTO;	/* the peer stopped mid-line */
			return -1;
		}
	}
}

int
lr_pending(const struct line_reader *lr)
{
	return lr->len > 0;
}
