/*
 * io.h - complete transfers over descriptors: write_all() and a bounded
 * line reader.
 *
 * read() and write() may move fewer bytes than asked (a pipe, a socket, a
 * signal arriving midway): these helpers loop until the whole message has
 * moved, retry on EINTR, and never let a line grow past a fixed limit.
 * They return -1 with errno set and never exit: the caller decides.
 */
#ifndef OSPS_IO_H
#define OSPS_IO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write all len bytes of buf to fd, looping over short writes and EINTR.
 * Returns len, or -1 with errno set (EPIPE when the reader has gone and
 * SIGPIPE is ignored; EAGAIN on a full non-blocking descriptor).
 */
ssize_t write_all(int fd, const void *buf, size_t len);

/* Bytes a line reader can hold: the longest line any protocol may use. */
#define LR_BUF_SIZE 1024

/* A buffer of bytes read from fd that have not been taken as lines yet. */
struct line_reader {
	int fd;
	size_t len;		/* bytes held in buf */
	char buf[LR_BUF_SIZE];
};

/* Make lr an empty reader of fd. */
void lr_init(struct line_reader *lr, int fd);

/*
 * Read once from lr's descriptor into its buffer (retrying on EINTR).
 * Returns the number of bytes read, 0 at end of file, or -1 with errno
 * set (EAGAIN: nothing to read on a non-blocking descriptor; EMSGSIZE:
 * the buffer is full of a line with no end).
 */
ssize_t lr_fill(struct line_reader *lr);

/*
 * Take the next complete line out of the buffer into line (size bytes,
 * NUL included), without its "\n" or "\r\n".
 * Returns 1 when a line was taken, 0 when no complete line is buffered yet,
 * -1 with errno EMSGSIZE when the line is too long for size (the reader
 * is then unusable: close the connection), or -1 with errno EILSEQ when
 * the line holds a NUL byte (that line is dropped; the next one can be
 * taken). Call it until it returns 0: one read may bring many lines.
 */
int lr_next(struct line_reader *lr, char *line, size_t size);

/*
 * Blocking read of the next line: lr_next() and lr_fill() until a line
 * is complete. Returns 1 for a line, 0 at end of file between lines,
 * -1 with errno set: EMSGSIZE (line too long), EILSEQ (a NUL in the
 * line), EPROTO (end of file in the middle of a line), or the error of
 * read().
 */
int lr_getline(struct line_reader *lr, char *line, size_t size);

/* True when lr holds bytes that have not been taken yet. */
int lr_pending(const struct line_reader *lr);

#endif
