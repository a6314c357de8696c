/*
 * test_proto.c - step 2's messages: words parsed and formatted exactly,
 * and proto_recv() against a mocked read(): a message split across reads,
 * two messages in one read, a line too long, an unknown word, end of file
 * in the middle of a line, a non-blocking pipe with nothing to read yet.
 * Each test's name starts with the exercise it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

#define EX_TEST(ex, f) { "[" ex "] " #f, f, NULL, NULL, NULL }

#include "tests/mock_read.h"	/* read() answers from a queue */


/* proto_recv() on a fresh reader must fail with errno err. */
static void
assert_recv_fails(struct line_reader *lr, int err)
{
	enum proto_msg m;

	errno = 0;
	assert_call_equal("2.3", proto_recv(lr, &m), -1);
	assert_errno("2.3", err);
}

static void
test_parse_the_two_words(void **state)
{
	enum proto_msg m = PROTO_PONG;

	(void)state;
	assert_call_equal("2.3", proto_parse("ping", &m), 0);
	assert_int_equal(m, PROTO_PING);
	assert_call_equal("2.3", proto_parse("pong", &m), 0);
	assert_int_equal(m, PROTO_PONG);
}

static void
test_parse_refuses_anything_else(void **state)
{
	const char *bad[] = { "pang", "", "PING", "ping ", " ping", "ping pong",
		"pingpong", "pin", "ping\n" };
	enum proto_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		assert_call_equal("2.3", proto_parse(bad[i], &m), -1);
		assert_errno("2.3", EBADMSG);
	}
}

static void
test_format_lines(void **state)
{
	char buf[PROTO_LINE_MAX];

	(void)state;
	assert_call_equal("2.3", proto_format(PROTO_PING, buf, sizeof buf), 5);
	assert_string_equal(buf, "ping\n");
	assert_call_equal("2.3", proto_format(PROTO_PONG, buf, sizeof buf), 5);
	assert_string_equal(buf, "pong\n");
	/* "ping\n" and its NUL need 6 bytes. */
	errno = 0;
	assert_call_equal("2.3", proto_format(PROTO_PING, buf, 5), -1);
	assert_errno("2.3", ENOBUFS);
	errno = 0;
	assert_call_equal("2.3", proto_format((enum proto_msg)42, buf, sizeof buf), -1);
	assert_errno("2.3", EINVAL);
	assert_string_equal(proto_word(PROTO_PONG), "pong");
}

static void
test_send_writes_one_line(void **state)
{
	char buf[16];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_call_equal("2.3", proto_send(p[1], PROTO_PONG), 0);
	/* Read it back with the real read(): the mock would want a queue. */
	close(p[1]);
	assert_int_equal(__real_read(p[0], buf, sizeof buf), 5);
	assert_memory_equal(buf, "pong\n", 5);
	close(p[0]);
}

static void
test_send_to_a_closed_pipe_is_epipe(void **state)
{
	int p[2];

	(void)state;
	assert_true(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	errno = 0;
	assert_call_equal("2.3", proto_send(p[1], PROTO_PING), -1);
	assert_errno("2.3", EPIPE);
	close(p[1]);
}

static void
test_recv_message_split_across_reads(void **state)
{
	struct line_reader lr;
	enum proto_msg m;

	(void)state;
	lr_init(&lr, 7);
	/* A blocking descriptor: one call reads until the line is whole. */
	will_read("pi");
	will_read("n");
	will_read("g\n");
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PING);
	/* A non-blocking one: EAGAIN in between, the piece stays buffered. */
	will_read("po");
	will_fail_read(EAGAIN);
	assert_recv_fails(&lr, EAGAIN);
	will_read("ng\n");
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PONG);
}

static void
test_recv_two_messages_in_one_read(void **state)
{
	struct line_reader lr;
	enum proto_msg m;

	(void)state;
	lr_init(&lr, 7);
	will_read("ping\npong\n");
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PING);
	assert_true(lr_pending(&lr));
	/* The second comes from the buffer: no read() is queued for it. */
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PONG);
	assert_false(lr_pending(&lr));
	will_fail_read(EAGAIN);
	assert_recv_fails(&lr, EAGAIN);
}

static void
test_recv_line_too_long(void **state)
{
	struct line_reader lr;
	char line[PROTO_LINE_MAX + 2];

	(void)state;
	/* One byte over the limit, newline included. */
	memset(line, 'p', PROTO_LINE_MAX);
	line[PROTO_LINE_MAX] = '\n';
	line[PROTO_LINE_MAX + 1] = '\0';
	lr_init(&lr, 7);
	will_read(line);
	assert_recv_fails(&lr, EMSGSIZE);
	/* With no newline at all, refused as soon as it cannot fit, rather
	 * than waiting for an end that may never come. */
	line[PROTO_LINE_MAX] = '\0';
	lr_init(&lr, 7);
	will_read(line);
	assert_recv_fails(&lr, EMSGSIZE);
}

static void
test_recv_unknown_word(void **state)
{
	struct line_reader lr;
	enum proto_msg m;

	(void)state;
	lr_init(&lr, 7);
	will_read("pang\nping\r\n");
	assert_recv_fails(&lr, EBADMSG);
	/* The bad line is consumed; "\r\n" ends a line too. */
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PING);
}

/* "ping\0junk" is not "ping": a NUL makes the whole line refused. */
static void
test_recv_nul_in_a_line(void **state)
{
	struct line_reader lr;
	enum proto_msg m;

	(void)state;
	lr_init(&lr, 7);
	will_read_bytes("ping\0junk\npong\n", 15);
	assert_recv_fails(&lr, EILSEQ);
	assert_int_equal(proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PONG);
}

static void
test_recv_eof_mid_line(void **state)
{
	struct line_reader lr;

	(void)state;
	lr_init(&lr, 7);
	will_read("pin");
	will_read("");
	assert_recv_fails(&lr, EPROTO);
}

static void
test_recv_eof_between_messages(void **state)
{
	struct line_reader lr;
	enum proto_msg m;

	(void)state;
	lr_init(&lr, 7);
	will_read("pong\n");
	will_read("");
	assert_call_equal("2.3", proto_recv(&lr, &m), 1);
	assert_int_equal(m, PROTO_PONG);
	assert_call_equal("2.3", proto_recv(&lr, &m), 0);
}

static void
test_recv_read_error(void **state)
{
	struct line_reader lr;

	(void)state;
	lr_init(&lr, 7);
	will_fail_read(EIO);
	assert_recv_fails(&lr, EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("2.3", test_parse_the_two_words),
		EX_TEST("2.3", test_parse_refuses_anything_else),
		EX_TEST("2.3", test_format_lines),
		EX_TEST("2.3", test_send_writes_one_line),
		EX_TEST("2.3", test_send_to_a_closed_pipe_is_epipe),
		EX_TEST("2.3", test_recv_message_split_across_reads),
		EX_TEST("2.3", test_recv_two_messages_in_one_read),
		EX_TEST("2.3", test_recv_line_too_long),
		EX_TEST("2.3", test_recv_unknown_word),
		EX_TEST("2.3", test_recv_nul_in_a_line),
		EX_TEST("2.3", test_recv_eof_mid_line),
		EX_TEST("2.3", test_recv_eof_between_messages),
		EX_TEST("2.3", test_recv_read_error),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
