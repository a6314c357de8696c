/*
 * wjob.c - w's side of d: the job d gives over dwtube<i>, its client's
 * token, serving the request, its deadlines, and the reports w sends d
 * over wdtube<i> (debuttraitement, fintraitement, errtraitement). One job
 * at a time: d gives the next one only once w has reported the last.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "proto.h"
#include "w.h"

/*
 * Queue a report for d. Reports go out together at the end of the loop's
 * turn (reports_flush): debuttraitement and fintraitement of a request
 * served at once then cost d one wake-up, not two. A turn queues a few
 * short reports at most: one that does not fit is a bug, which
 * reports_flush() tells.
 */
void
report(enum report_kind kind, unsigned long id, enum proto_err err)
{
	struct report rep = { kind, w.port, id, err };
	int n = proto_format_report(w.reports + w.reportlen,
	    sizeof w.reports - w.reportlen, &rep);

	if (n == -1) {
		w.reports_lost = 1;
		return;
	}
	w.reportlen += (size_t)n;
}

/*
 * Send the queued reports. Returns 0, or -1 with errno: write()'s when d
 * has gone or is stuck, ENOBUFS when a report did not fit in the queue.
 */
int
reports_flush(void)
{
	size_t len = w.reportlen;

	w.reportlen = 0;
	if (w.reports_lost) {
		errno = ENOBUFS;
		return -1;
	}
	/* Less than PIPE_BUF bytes: one write, all or nothing, never mixed. */
	if (len > 0 && write_all(w.wfd, w.reports, len) == -1)
		return -1;
	return 0;
}

/* The job is over (its report sent): w is idle, its token is spent. */
static void
job_clear(void)
{
	if (w.client != NULL)
		w.client->serving = 0;
	w.client = NULL;
	w.state = JOB_NONE;
	memset(&w.job, 0, sizeof w.job);
}

/* The job failed: tell the client (if it is still there) and d. */
void
job_fail(enum proto_err err, const char *text)
{
	log_request("failed id=%lu reason=%s", w.job.id, proto_err_word(err));
	if (w.client != NULL && err != PERR_CLIENTGONE)
		conn_error(w.client, err, text);
	else if (w.client != NULL)
		w.client->close_after = 1;
	report(REP_ERR, w.job.id, err);
	job_clear();
}

/* ---- the handover: d's job, then the client's token ------------------ */

/*
 * Read what d sent on dwtube; take its job lines. Part of the main loop:
 * when the link to d breaks, or d sends what w cannot take, it says why
 * and stops w with status 1 (main cleans up, then d restarts w).
 */
void
on_messages(void)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&w.fifo);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n == 0) {
		/* d closed its end: its way to stop us (or it has died). */
		log_event("stop reason=eof served=%lu", w.served);
		w.stopping = 1;
		return;
	}
	if (n == -1) {
		warn("read dwtube%u", w.num);
		goto broken;
	}
	while ((got = lr_next(&w.fifo, line, sizeof line)) == 1) {
		struct job job;

		if (proto_parse_job(line, &job) == -1) {
			warnx("bad job from d: \"%.64s\"", line);
			goto broken;
		}
		if (w.state != JOB_NONE) {
			warnx("d sent job %lu while job %lu is not over", job.id, w.job.id);
			goto broken;
		}
		w.job = job;
		w.state = JOB_WAITING;
		w.job_deadline = log_now() + (double)w.idle_ms / 1000;
		log_request("job id=%lu type=%s", job.id, proto_req_word(job.type));
	}
	if (got != -1)
		return;
	warnx("line from d too long");
broken:
	w.rc = 1;
	w.stopping = 1;
}

/*
 * Read dwtube now if d has written something there. (A plain read would
 * take "no writer yet" for "d has gone": both read as end of file.)
 */
static void
fifo_read_pending(void)
{
	struct pollfd p = { w.rfd, POLLIN, 0 };

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		on_messages();
}

/*
 * A connection that has not shown a token yet sent line. Is it the
 * token of the job d gave? Then c is the job's client: serve it.
 */
void
check_token(struct conn *c, const char *line, double now)
{
	char text[PROTO_BUF];
	int n;

	/* TODO 4.7: if no job is waiting, read dwtube once more
	 * (fifo_read_pending): d wrote the job before it answered the
	 * client, so it is there. Then accept c only if w.state is
	 * JOB_WAITING and the line is the job's token (proto_token_equal):
	 * c->serving = 1, w.client = c, JOB_RUNNING, log "serving id=%lu
	 * type=%s peer=%s" (the job's id, proto_req_word() of its type,
	 * c->peer), send "ok <id> <request>" (proto_format_accepted),
	 * report REP_DEBUT to d, and set the deadline: processing time for
	 * requetetype1 (w.job_deadline), idle time for requetetype2
	 * (c->deadline). Anything else: log "badtoken peer=%s" and answer
	 * "error badtoken no request of yours is waiting here" (conn_error
	 * sends it and closes). What makes a token "one-time" here? */
	log_request("badtoken peer=%s", c->peer);
	conn_error(c, PERR_BADTOKEN, "not implemented");
}

/* ---- serving ------------------------------------------------------- */

/* requetetype1's processing time is over: the result, then "fin". */
static void
finish_type1(void)
{
	char text[128], line[PROTO_BUF];
	struct conn *c = w.client;
	int n;

	/* TODO 4.8: send the result line (proto_format_result, with a text
	 * such as "requetetype1 done by w1 in 500 ms"), close the client once
	 * it is sent (c->close_after), report REP_FIN to d, log "fin", and
	 * job_clear(). Why does w report to d only after the result line is
	 * on its way, and never before? */
	job_fail(PERR_SHUTDOWN, "finish_type1 is not written yet (TODO 4.8)");
}

static void client_eof(struct conn *c);

/*
 * requetetype2: echo each complete line. Once the client has shut down
 * its write side and every line is echoed, the request is over.
 */
void
serve_lines(struct conn *c, double now)
{
	char line[PROTO_LINE_MAX + 2];
	size_t len;
	int got = 0;

	/* Flow control: a new line only if its echo fits in the output
	 * buffer. A client that writes without reading stalls itself, not w. */
	while (c->outlen + sizeof line <= sizeof c->out &&
	    (got = lr_next(&c->lr, line, PROTO_LINE_MAX + 1)) == 1) {
		if (!proto_text_valid(line))
			break;
		c->deadline = now + (double)w.idle_ms / 1000;
		len = strlen(line);
		line[len++] = '\n';
		c->echoed++;
		conn_send(c, line, (int)len);
	}
	/* A NUL (EILSEQ) or a control byte: echoing it would pass on bytes
	 * the protocol does not allow, and a NUL would cut the line short. */
	if ((got == -1 && errno == EILSEQ) || (got == 1 && !proto_text_valid(line)))
		job_fail(PERR_BADBYTE, "a line holds a byte that is not text");
	else if (got == -1)
		job_fail(PERR_TOOLONG, "a line is at most 512 bytes");
	else if (got == 0 && c->eof)
		client_eof(c);
}

/* requetetype2's client has shut down writing and every line is echoed. */
static void
client_eof(struct conn *c)
{
	char line[PROTO_BUF];

	if (lr_pending(&c->lr)) {
		/* An unfinished line: the client left mid-request. */
		job_fail(PERR_CLIENTGONE, NULL);
		return;
	}
	/* The count tells the client that no line was lost. */
	conn_send(c, line, proto_format_end(line, sizeof line, w.job.id, c->echoed));
	c->close_after = 1;
	report(REP_FIN, w.job.id, PERR_NONE);
	log_request("fin id=%lu lines=%lu", w.job.id, c->echoed);
	w.served++;
	job_clear();
}

/* Deadlines: token expiry, type 1's result, idle connections. */
void
timers(double now)
{
	size_t i;

	if (w.state == JOB_WAITING && now >= w.job_deadline) {
		/* The client never came: the token is spent, w is free. */
		log_request("token-expired id=%lu", w.job.id);
		report(REP_ERR, w.job.id, PERR_TIMEOUT);
		job_clear();
	}
	if (w.state == JOB_RUNNING && w.job.type == REQ_TYPE1 && now >= w.job_deadline)
		finish_type1();
	for (i = 0; i < w.nconns; i++) {
		struct conn *c = w.conns[i];

		if (c->fd == -1 || c->deadline > now ||
		    (c->serving && w.job.type == REQ_TYPE1))
			continue;
		if (c->outlen > 0) {
			/* It does not even read what it was sent: give up on it
			 * (the sweep tells d if it was being served). */
			close(c->fd);
			c->fd = -1;
			continue;
		}
		log_request("timeout peer=%s", c->peer);
		if (c->serving)
			job_fail(PERR_TIMEOUT, "idle for too long");
		else
			conn_error(c, PERR_TIMEOUT, "idle for too long");
	}
}
