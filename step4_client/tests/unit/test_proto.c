/*
 * test_proto.c - the protocol module: parsing and formatting every line of
 * both mini-protocols (client <-> d <-> w), every error word, the limits,
 * and the tokens. Each test's name starts with the exercise it checks;
 * "[run]" tests check given code that every exercise relies on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

#define EX_TEST(ex, f) { "[" ex "] " #f, f, NULL, NULL, NULL }

static const char TOKEN[] = "0123456789abcdef";

/* ---- client -> d ---------------------------------------------------- */

static void
test_request_words(void **state)
{
	(void)state;
	assert_int_equal(proto_parse_request("requetetype1"), REQ_TYPE1);
	assert_int_equal(proto_parse_request("requetetype2"), REQ_TYPE2);
	/* Exactly the word, nothing around it. */
	assert_int_equal(proto_parse_request(""), REQ_NONE);
	assert_int_equal(proto_parse_request("requetetype3"), REQ_NONE);
	assert_int_equal(proto_parse_request("requetetype1 "), REQ_NONE);
	assert_int_equal(proto_parse_request(" requetetype1"), REQ_NONE);
	assert_int_equal(proto_parse_request("REQUETETYPE1"), REQ_NONE);
	assert_int_equal(proto_parse_request("requetetype"), REQ_NONE);
	assert_string_equal(proto_req_word(REQ_TYPE1), "requetetype1");
	assert_string_equal(proto_req_word(REQ_TYPE2), "requetetype2");
	assert_string_equal(proto_req_word(REQ_NONE), "?");
}

/* The bytes a line may hold: printable ASCII and UTF-8, nothing else. */
static void
test_text_bytes(void **state)
{
	static const char *const bad[] = {
		"ab\x01" "cd", "tab\there", "del\x7f", "\x1b[31mred", "cr\rinside",
		"\x1f",
	};
	size_t i;

	(void)state;
	assert_true(proto_text_valid(""));
	assert_true(proto_text_valid("hello world ~!"));
	assert_true(proto_text_valid("d\xc3\xa9j\xc3\xa0 vu"));	/* "déjà vu" */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (proto_text_valid(bad[i]))
			fail_msg("accepted byte in \"%s\"", bad[i]);
	/* A request with a control byte is no request (d: "error unknown"). */
	assert_int_equal(proto_parse_request("requetetype1\x01"), REQ_NONE);
	assert_int_equal(proto_parse_request("requetetype1\t"), REQ_NONE);
}

/* ---- error words ----------------------------------------------------- */

static void
test_every_error_word_round_trips(void **state)
{
	static const char *const words[] = { "unknown", "toolong", "timeout",
		"busy", "badtoken", "shutdown", "clientgone", "wdied", "badbyte" };
	char line[PROTO_BUF];
	struct reply r;
	int e, n;

	(void)state;
	assert_int_equal(PERR_COUNT - 1, sizeof words / sizeof words[0]);
	for (e = PERR_NONE + 1; e < PERR_COUNT; e++) {
		assert_string_equal(proto_err_word((enum proto_err)e), words[e - 1]);
		assert_int_equal(proto_err_from_word(words[e - 1]), e);
		/* With and without a text. */
		n = proto_format_error(line, sizeof line, (enum proto_err)e, "some text");
		assert_int_equal(n, (int)strlen(line));
		assert_int_equal(line[n - 1], '\n');
		line[n - 1] = '\0';
		assert_int_equal(proto_parse_reply(line, &r), 0);
		assert_int_equal(r.kind, REPLY_ERROR);
		assert_int_equal(r.err, e);
		assert_string_equal(r.text, "some text");
		n = proto_format_error(line, sizeof line, (enum proto_err)e, NULL);
		line[n - 1] = '\0';
		assert_int_equal(proto_parse_reply(line, &r), 0);
		assert_int_equal(r.err, e);
		assert_string_equal(r.text, "");
	}
	assert_int_equal(proto_err_from_word("none"), PERR_NONE);
	assert_int_equal(proto_err_from_word("nosuchword"), PERR_NONE);
	assert_string_equal(proto_err_word(PERR_NONE), "?");
	assert_string_equal(proto_err_word(PERR_COUNT), "?");
}

static void
test_error_lines_exact(void **state)
{
	char line[PROTO_BUF];

	(void)state;
	proto_format_error(line, sizeof line, PERR_BUSY, "every w is busy");
	assert_string_equal(line, "error busy every w is busy\n");
	proto_format_error(line, sizeof line, PERR_BADTOKEN, "");
	assert_string_equal(line, "error badtoken\n");
}

/* ---- d -> client, w -> client ---------------------------------------- */

static void
test_handover_round_trip(void **state)
{
	char line[PROTO_BUF];
	struct reply r;
	int n;

	(void)state;
	n = proto_format_handover(line, sizeof line, 40213, TOKEN);
	assert_string_equal(line, "40213 0123456789abcdef\n");
	assert_int_equal(n, 23);
	line[n - 1] = '\0';
	assert_int_equal(proto_parse_reply(line, &r), 0);
	assert_int_equal(r.kind, REPLY_HANDOVER);
	assert_int_equal(r.port, 40213);
	assert_string_equal(r.token, TOKEN);
}

static void
test_w_replies_round_trip(void **state)
{
	char line[PROTO_BUF];
	struct reply r;
	int n;

	(void)state;
	n = proto_format_accepted(line, sizeof line, 42, REQ_TYPE2);
	assert_string_equal(line, "ok 42 requetetype2\n");
	line[n - 1] = '\0';
	assert_int_equal(proto_parse_reply(line, &r), 0);
	assert_int_equal(r.kind, REPLY_ACCEPTED);
	assert_int_equal(r.id, 42);
	assert_int_equal(r.type, REQ_TYPE2);

	n = proto_format_result(line, sizeof line, 7, "requetetype1 done by w1 in 5 ms");
	assert_string_equal(line, "result 7 requetetype1 done by w1 in 5 ms\n");
	line[n - 1] = '\0';
	assert_int_equal(proto_parse_reply(line, &r), 0);
	assert_int_equal(r.kind, REPLY_RESULT);
	assert_int_equal(r.id, 7);
	assert_string_equal(r.text, "requetetype1 done by w1 in 5 ms");

	n = proto_format_end(line, sizeof line, 9, 3);
	assert_string_equal(line, "end 9 3\n");
	line[n - 1] = '\0';
	assert_int_equal(proto_parse_reply(line, &r), 0);
	assert_int_equal(r.kind, REPLY_END);
	assert_int_equal(r.id, 9);
	assert_int_equal(r.count, 3);
}

static void
test_bad_replies_refused(void **state)
{
	static const char *const bad[] = {
		"", " ", "error", "error ", "error nosuchword", "error  busy",
		"40213", "40213 ", "40213 0123456789abcdeF", "40213 0123456789abcde",
		"40213 0123456789abcdef0", "0 0123456789abcdef", "65536 0123456789abcdef",
		"040213 0123456789abcdef", "-1 0123456789abcdef", "40213  0123456789abcdef",
		"40213 0123456789abcdef extra", "ok 1", "ok 0 requetetype1",
		"ok 1 requetetype3", "ok x requetetype1", "result 1", "end 1",
		"end 1 x", "end 1 2 3", "hello world", "ok 1 requetetype1\t",
	};
	struct reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		if (proto_parse_reply(bad[i], &r) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EPROTO);
	}
}

/* ---- d -> w ---------------------------------------------------------- */

static void
test_job_round_trip(void **state)
{
	struct job job = { REQ_TYPE1, 12345, "" }, back;
	char line[PROTO_BUF];
	int n;

	(void)state;
	memcpy(job.token, TOKEN, sizeof job.token);
	n = proto_format_job(line, sizeof line, &job);
	assert_string_equal(line, "requetetype1 12345 0123456789abcdef\n");
	line[n - 1] = '\0';
	assert_call_equal("4.1", proto_parse_job(line, &back), 0);
	assert_int_equal(back.type, REQ_TYPE1);
	assert_int_equal(back.id, 12345);
	assert_string_equal(back.token, TOKEN);
	assert_call_equal("4.1", proto_parse_job("requetetype2 1 fedcba9876543210", &back), 0);
	assert_int_equal(back.type, REQ_TYPE2);
	assert_int_equal(back.id, 1);
	assert_string_equal(back.token, "fedcba9876543210");
}

static void
test_bad_jobs_refused(void **state)
{
	static const char *const bad[] = {
		"", "requetetype1", "requetetype1 1", "requetetype1 1 ",
		"requetetype3 1 0123456789abcdef", "requetetype1 0 0123456789abcdef",
		"requetetype1 01 0123456789abcdef", "requetetype1 -1 0123456789abcdef",
		"requetetype1 +1 0123456789abcdef", "requetetype1 x 0123456789abcdef",
		"requetetype1 1 0123456789ABCDEF", "requetetype1 1 0123456789abcde",
		"requetetype1 1 0123456789abcdefa", "requetetype1  1 0123456789abcdef",
		" requetetype1 1 0123456789abcdef", "requetetype1 1 0123456789abcdef extra",
		"requetetype1 99999999999999999999999 0123456789abcdef",
		"requetetype1 1 0123456789abcde\x01",
	};
	struct job job;
	size_t i;

	(void)state;
	/* A parser that refuses everything is no parser. */
	assert_call_equal("4.1", proto_parse_job("requetetype1 1 0123456789abcdef", &job), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		if (proto_parse_job(bad[i], &job) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_errno("4.1", EPROTO);
	}
}

static void
test_format_job_refuses_nonsense(void **state)
{
	struct job job = { REQ_NONE, 1, "" };
	char line[PROTO_BUF];

	(void)state;
	memcpy(job.token, TOKEN, sizeof job.token);
	errno = 0;
	assert_int_equal(proto_format_job(line, sizeof line, &job), -1);
	assert_int_equal(errno, EINVAL);
	job.type = REQ_TYPE1;
	job.id = 0;
	assert_int_equal(proto_format_job(line, sizeof line, &job), -1);
	job.id = 1;
	strcpy(job.token, "not-a-token");
	assert_int_equal(proto_format_job(line, sizeof line, &job), -1);
}

/* ---- w -> d ---------------------------------------------------------- */

static void
test_reports_round_trip(void **state)
{
	const struct {
		struct report rep;
		const char *line;
	} cases[] = {
		{ { REP_READY, 40001, 0, PERR_NONE }, "ready 40001\n" },
		{ { REP_DEBUT, 0, 17, PERR_NONE }, "debuttraitement 17\n" },
		{ { REP_FIN, 0, 17, PERR_NONE }, "fintraitement 17\n" },
		{ { REP_ERR, 0, 17, PERR_TIMEOUT }, "errtraitement 17 timeout\n" },
		{ { REP_ERR, 0, 3, PERR_CLIENTGONE }, "errtraitement 3 clientgone\n" },
		{ { REP_ERR, 0, 4, PERR_TOOLONG }, "errtraitement 4 toolong\n" },
		{ { REP_ERR, 0, 5, PERR_SHUTDOWN }, "errtraitement 5 shutdown\n" },
	};
	char line[PROTO_BUF];
	struct report back;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = proto_format_report(line, sizeof line, &cases[i].rep);
		assert_string_equal(line, cases[i].line);
		line[n - 1] = '\0';
		assert_int_equal(proto_parse_report(line, &back), 0);
		assert_int_equal(back.kind, cases[i].rep.kind);
		assert_int_equal(back.port, cases[i].rep.port);
		assert_int_equal(back.id, cases[i].rep.id);
		assert_int_equal(back.err, cases[i].rep.err);
	}
}

static void
test_bad_reports_refused(void **state)
{
	static const char *const bad[] = {
		"", "ready", "ready 0", "ready 65536", "ready x", "ready 1 2",
		"debuttraitement", "debuttraitement 0", "debuttraitement 1 2",
		"fintraitement x", "errtraitement 1", "errtraitement 1 nosuchword",
		"errtraitement 1 none", "pong", "ping 1", "fintraitement  1",
	};
	struct report rep;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		if (proto_parse_report(bad[i], &rep) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EPROTO);
	}
}

/* ---- limits ---------------------------------------------------------- */

static void
test_limits(void **state)
{
	char big[PROTO_LINE_MAX + 8], line[PROTO_BUF], small[8];
	struct reply r;

	(void)state;
	/* A text that makes the line longer than the limit is refused,
	 * never cut: a cut message would be another message. */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	errno = 0;
	assert_int_equal(proto_format_result(line, sizeof line, 1, big), -1);
	assert_int_equal(errno, EMSGSIZE);
	errno = 0;
	assert_int_equal(proto_format_handover(small, sizeof small, 40000, TOKEN), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* A line over the limit is not parsed. */
	memcpy(big, "result 1 ", 9);
	errno = 0;
	assert_int_equal(proto_parse_reply(big, &r), -1);
	assert_int_equal(errno, EPROTO);
	/* The longest legal line goes through. */
	memset(line, 'y', PROTO_LINE_MAX);
	memcpy(line, "result 1 ", 9);
	line[PROTO_LINE_MAX] = '\0';
	assert_int_equal(proto_parse_reply(line, &r), 0);
	assert_int_equal(strlen(r.text), PROTO_LINE_MAX - 9);
}

/* ---- tokens ---------------------------------------------------------- */

static void
test_tokens(void **state)
{
	char a[PROTO_TOKEN_LEN + 1], b[PROTO_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(proto_token_new(a), 0);
	assert_int_equal(proto_token_new(b), 0);
	assert_true(proto_token_valid(a));
	assert_int_equal(strlen(a), PROTO_TOKEN_LEN);
	/* 64 random bits: two equal tokens would be a broken generator. */
	assert_false(proto_token_equal(a, b));
	assert_true(proto_token_equal(a, a));
	assert_true(proto_token_equal(TOKEN, "0123456789abcdef"));
	assert_false(proto_token_equal(TOKEN, "0123456789abcdee"));
	assert_false(proto_token_equal(TOKEN, "1123456789abcdef"));
	/* Malformed tokens never match, not even themselves. */
	assert_false(proto_token_equal("", ""));
	assert_false(proto_token_equal("XYZ", "XYZ"));
	assert_false(proto_token_valid("0123456789abcde"));
	assert_false(proto_token_valid("0123456789abcdef0"));
	assert_false(proto_token_valid("0123456789abcdeg"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("4.1", test_job_round_trip),
		EX_TEST("4.1", test_bad_jobs_refused),
		EX_TEST("run", test_format_job_refuses_nonsense),
		EX_TEST("run", test_request_words),
		EX_TEST("run", test_text_bytes),
		EX_TEST("run", test_every_error_word_round_trips),
		EX_TEST("run", test_error_lines_exact),
		EX_TEST("run", test_handover_round_trip),
		EX_TEST("run", test_w_replies_round_trip),
		EX_TEST("run", test_bad_replies_refused),
		EX_TEST("run", test_reports_round_trip),
		EX_TEST("run", test_bad_reports_refused),
		EX_TEST("run", test_limits),
		EX_TEST("run", test_tokens),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
