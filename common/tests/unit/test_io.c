/*
 * test_io.c - write_all() and the line reader against a mocked read() and
 * write(): short transfers, EINTR, errors, lines split or glued together,
 * lines too long, end of file in the middle of a line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/* write() mock: each call consumes (errno, return value) from the queue. */
ssize_t __wrap_write(int fd, const void *buf, size_t count);
ssize_t
__wrap_write(int fd, const void *buf, size_t count)
{
	int err;
	ssize_t ret;

	(void)buf;
	check_expected(fd);
	check_expected(count);
	err = mock_type(int);
	ret = mock_type(ssize_t);
	if (err != 0)
		errno = err;
	return ret;
}

#include "tests/mock_read.h"	/* read() answers from a queue */

static void
will_write(int fd, size_t count, int err, ssize_t ret)
{
	expect_value(__wrap_write, fd, fd);
	expect_value(__wrap_write, count, count);
	will_return(__wrap_write, err);
	will_return(__wrap_write, ret);
}

static void
test_write_all_whole(void **state)
{
	(void)state;
	will_write(7, 10, 0, 10);
	assert_int_equal(write_all(7, "0123456789", 10), 10);
}

static void
test_write_all_short_write_then_eintr(void **state)
{
	(void)state;
	will_write(7, 10, 0, 4);	/* short write: 6 bytes left */
	will_write(7, 6, EINTR, -1);	/* interrupted: retry the same 6 */
	will_write(7, 6, 0, 6);
	assert_int_equal(write_all(7, "0123456789", 10), 10);
}

static void
test_write_all_error_is_reported(void **state)
{
	(void)state;
	will_write(5, 4, 0, 1);
	will_write(5, 3, EPIPE, -1);
	errno = 0;
	assert_int_equal(write_all(5, "ping", 4), -1);
	assert_int_equal(errno, EPIPE);
}

static void
test_lr_line_split_across_reads(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("pi");
	will_read("n");
	will_read("g\n");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "ping");
	assert_false(lr_pending(&lr));
}

static void
test_lr_two_lines_in_one_read(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("ping\npong\n");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "ping");
	/* The second line is served from the buffer: no read() queued. */
	assert_int_equal(lr_next(&lr, line, sizeof line), 1);
	assert_string_equal(line, "pong");
	will_read("");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 0);
}

static void
test_lr_crlf_and_empty_line(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("ping\r\n\n");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "ping");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "");
}

static void
test_lr_line_too_long_without_newline(void **state)
{
	struct line_reader lr;
	char line[8];

	(void)state;
	lr_init(&lr, 3);
	will_read("0123456789");	/* no end in sight, already > 7 chars */
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
test_lr_line_too_long_with_newline(void **state)
{
	struct line_reader lr;
	char line[8];

	(void)state;
	lr_init(&lr, 3);
	will_read("01234567\n");	/* 8 chars do not fit in 8 bytes + NUL */
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
test_lr_longest_line_that_fits(void **state)
{
	struct line_reader lr;
	char line[8];

	(void)state;
	lr_init(&lr, 3);
	will_read("0123456\n");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "0123456");
}

static void
test_lr_endless_line_fills_buffer(void **state)
{
	static char big[LR_BUF_SIZE + 1];
	struct line_reader lr;
	static char line[LR_BUF_SIZE * 2];

	(void)state;
	memset(big, 'x', LR_BUF_SIZE);
	lr_init(&lr, 3);
	will_read(big);
	/* The buffer is full and holds no line end: refused, never grown. */
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
test_lr_eof_mid_line(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("pin");
	will_read("");
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_lr_eintr_is_retried(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_fail_read(EINTR);
	will_read("pong\n");
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "pong");
}

static void
test_lr_read_error_is_reported(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_fail_read(ECONNRESET);
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, ECONNRESET);
}

static void
test_lr_nonblocking_fill_then_next(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("req");
	assert_int_equal(lr_fill(&lr), 3);
	assert_int_equal(lr_next(&lr, line, sizeof line), 0);	/* need more */
	will_fail_read(EAGAIN);
	assert_int_equal(lr_fill(&lr), -1);
	assert_int_equal(errno, EAGAIN);
	will_read("uest\n");
	assert_int_equal(lr_fill(&lr), 5);
	assert_int_equal(lr_next(&lr, line, sizeof line), 1);
	assert_string_equal(line, "request");
}

/* A NUL would cut the line short: the line is refused, the next one read. */
static void
test_lr_nul_refuses_the_line_only(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read_bytes("requetetype1\0junk\nnext\n", 23);
	assert_int_equal(lr_getline(&lr, line, sizeof line), -1);
	assert_int_equal(errno, EILSEQ);
	assert_int_equal(lr_next(&lr, line, sizeof line), 1);
	assert_string_equal(line, "next");
	assert_false(lr_pending(&lr));
}

/* Complete lines buffered before end of file are all taken, then 0. */
static void
test_lr_lines_buffered_at_eof(void **state)
{
	struct line_reader lr;
	char line[64];

	(void)state;
	lr_init(&lr, 3);
	will_read("a\nb\nc\n");
	assert_int_equal(lr_fill(&lr), 6);
	will_read("");
	assert_int_equal(lr_fill(&lr), 0);	/* end of file, lines still held */
	assert_true(lr_pending(&lr));
	assert_int_equal(lr_getline(&lr, line, sizeof line), 1);
	assert_string_equal(line, "a");
	assert_int_equal(lr_next(&lr, line, sizeof line), 1);
	assert_string_equal(line, "b");
	assert_int_equal(lr_next(&lr, line, sizeof line), 1);
	assert_string_equal(line, "c");
	assert_int_equal(lr_next(&lr, line, sizeof line), 0);
	assert_false(lr_pending(&lr));
}

/* One read bringing many lines: each one comes out whole, in order. */
static void
test_lr_many_lines_in_one_read(void **state)
{
	static char chunk[LR_BUF_SIZE];
	struct line_reader lr;
	char line[64], want[8];
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		snprintf(chunk + 4 * i, 5, "%03d\n", i);
	lr_init(&lr, 3);
	will_read_bytes(chunk, 800);
	assert_int_equal(lr_fill(&lr), 800);
	for (i = 0; i < 200; i++) {
		snprintf(want, sizeof want, "%03d", i);
		assert_int_equal(lr_next(&lr, line, sizeof line), 1);
		assert_string_equal(line, want);
	}
	assert_int_equal(lr_next(&lr, line, sizeof line), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_all_whole),
		cmocka_unit_test(test_write_all_short_write_then_eintr),
		cmocka_unit_test(test_write_all_error_is_reported),
		cmocka_unit_test(test_lr_line_split_across_reads),
		cmocka_unit_test(test_lr_two_lines_in_one_read),
		cmocka_unit_test(test_lr_crlf_and_empty_line),
		cmocka_unit_test(test_lr_line_too_long_without_newline),
		cmocka_unit_test(test_lr_line_too_long_with_newline),
		cmocka_unit_test(test_lr_longest_line_that_fits),
		cmocka_unit_test(test_lr_endless_line_fills_buffer),
		cmocka_unit_test(test_lr_eof_mid_line),
		cmocka_unit_test(test_lr_eintr_is_retried),
		cmocka_unit_test(test_lr_read_error_is_reported),
		cmocka_unit_test(test_lr_nonblocking_fill_then_next),
		cmocka_unit_test(test_lr_nul_refuses_the_line_only),
		cmocka_unit_test(test_lr_lines_buffered_at_eof),
		cmocka_unit_test(test_lr_many_lines_in_one_read),
	};

	return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
