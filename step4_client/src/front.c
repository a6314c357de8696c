/*
 * front.c - d's front end: the clients connected to d, the queue of
 * requests waiting for a w, and the handover of a request to an idle w
 * (the w's port and a one-time token to the client). A client line goes
 * client_read() -> client_lines() -> dispatch() -> hand_over() ->
 * client_send(). Nothing here blocks: a client that does not read is
 * closed (client_send()). Shared state and contracts: d.h.
 *
 * _GNU_SOURCE: accept4(), a client socket born close-on-exec and
 * non-blocking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "d.h"
#include "log.h"
#include "net.h"

#define ACCEPT_BURST 64		/* connections taken per wake-up of the listener */

/* ---- clients: the queue ------------------------------------------- */

static void
queue_push(struct client *c, enum req_type type, double now)
{
	c->queued = type;
	c->deadline = now + (double)opt.idle_ms / 1000;
	c->qnext = NULL;
	c->qprev = d.qtail;
	if (d.qtail != NULL)
		d.qtail->qnext = c;
	else
		d.qhead = c;
	d.qtail = c;
	d.qlen++;
}

static void
queue_remove(struct client *c)
{
	if (c->queued == REQ_NONE)
		return;
	if (c->qprev != NULL)
		c->qprev->qnext = c->qnext;
	else
		d.qhead = c->qnext;
	if (c->qnext != NULL)
		c->qnext->qprev = c->qprev;
	else
		d.qtail = c->qprev;
	c->qprev = c->qnext = NULL;
	c->queued = REQ_NONE;
	d.qlen--;
}

/* ---- clients: replies and closing --------------------------------- */

/*
 * Send one line to a client. Its socket is non-blocking: a client that
 * does not read its replies would otherwise stall all of d. Replies are
 * a few bytes and the socket buffer holds hundreds of kilobytes, so a
 * full buffer means a hostile or dead client: it is closed. (The kit's
 * rule for bounded output, CONTRIBUTING.md; w, whose echoes the client
 * sizes, buffers instead: conn_flush() in w.c.)
 */
static int
client_send(struct client *c, const char *line, int len)
{
	if (len == -1 || write_all(c->fd, line, (size_t)len) == -1)
		return -1;
	return 0;
}

/* Close a client's connection; it leaves the table at the end of the turn. */
static void
client_close(struct client *c, const char *reason)
{
	unsigned i;

	if (c->fd == -1)
		return;
	queue_remove(c);
	for (i = 0; i < opt.n; i++)
		if (ws[i].client == c)
			ws[i].client = NULL;
	log_request("disconnect peer=%s reason=%s", c->peer, reason);
	close(c->fd);
	c->fd = -1;
}

/* Send "error <word> <text>"; the words that end a conversation close it. */
void
client_error(struct client *c, enum proto_err err, const char *text)
{
	char line[PROTO_BUF];
	int n = proto_format_error(line, sizeof line, err, text);

	if (client_send(c, line, n) == -1) {
		client_close(c, "write-failed");
		return;
	}
	if (err == PERR_TOOLONG || err == PERR_TIMEOUT || err == PERR_SHUTDOWN)
		client_close(c, proto_err_word(err));
}

/* The client's idle clock restarts: it may now take idle_ms to speak. */
void
client_touch(struct client *c, double now)
{
	c->deadline = now + (double)opt.idle_ms / 1000;
}

/* ---- handing a request over to a w -------------------------------- */

/* An idle, ready w, taken in turn so that the work spreads; or NULL. */
static struct wchild *
idle_worker(void)
{
	static unsigned last;
	unsigned i;

	for (i = 1; i <= opt.n; i++) {
		struct wchild *wc = &ws[(last + i) % opt.n];

		if (wc->ready && wc->job.id == 0) {
			last = (unsigned)(wc - ws);
			return wc;
		}
	}
	return NULL;
}

/*
 * Hand client c's request over to the idle w: give it a number and a
 * fresh token, send w the job, then send the client "<port> <token>".
 * Returns 0 once the request is dealt with (handed over, or c closed
 * when no token could be made), or -1 when the w could not be told (it
 * is then killed and the caller tries another one).
 */
static int
hand_over(struct wchild *wc, struct client *c, enum req_type type, double now)
{
	/* TODO 4.5: fill wc->job (type, id = ++d.next_id, a token from
	 * proto_token_new), send it to w over wc->to_w (proto_format_job,
	 * write_all), then the handover line to the client
	 * (proto_format_handover with wc->port). On a failed write to w, call
	 * worker_kill() and return -1. Why must the job reach w's FIFO
	 * BEFORE the client gets its reply, and not after? */
	client_error(c, PERR_BUSY, "hand_over is not written yet (TODO 4.5)");
	return 0;
}

/* Serve a request now if a w is idle, else queue it, else refuse it. */
static void
dispatch(struct client *c, enum req_type type, double now)
{
	/* TODO 4.4: while an idle w exists (idle_worker()), try hand_over();
	 * stop at the first success. With no idle w: queue the request
	 * (queue_push) if fewer than opt.queue_max are waiting, else send
	 * "error busy" (client_error) and log "busy peer=...". Why does a
	 * bounded queue protect d better than an unbounded one? (Until you
	 * write it, the given lines serve one idle w or refuse: enough for
	 * 4.5's handover to be tried first.) */
	struct wchild *wc = idle_worker();

	if (wc == NULL || hand_over(wc, c, type, now) == -1)
		client_error(c, PERR_BUSY, "dispatch has no queue yet (TODO 4.4)");
}

static void client_lines(struct client *c, double now);

/* A w became idle: serve the oldest queued requests. */
void
dispatch_queue(double now)
{
	while (d.qhead != NULL && idle_worker() != NULL) {
		struct client *c = d.qhead;
		enum req_type type = c->queued;

		queue_remove(c);
		client_touch(c, now);
		dispatch(c, type, now);
		/* Its next requests may be buffered already (pipelined). */
		client_lines(c, now);
	}
}

/* ---- clients: reading requests ------------------------------------ */

/*
 * Take every complete line client c has sent, one request after the
 * other (a client may send several without waiting: pipelining). A
 * queued client's next lines wait until its request is served: replies
 * come back in the order of the requests. A client that has shut down
 * its writing is closed once nothing of it is left to answer.
 */
static void
client_lines(struct client *c, double now)
{
	char line[PROTO_LINE_MAX + 1];
	enum req_type type;
	int got;

	while (c->fd != -1 && c->queued == REQ_NONE &&
	    (got = lr_next(&c->lr, line, sizeof line)) != 0) {
		client_touch(c, now);
		if (got == -1 && errno != EILSEQ) {
			log_request("toolong peer=%s", c->peer);
			client_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
			return;
		}
		/* A line holding a NUL (EILSEQ) is no request either. */
		type = got == 1 ? proto_parse_request(line) : REQ_NONE;
		if (type == REQ_NONE) {
			log_request("unknown peer=%s", c->peer);
			client_error(c, PERR_UNKNOWN, "expected requetetype1 or requetetype2");
			continue;
		}
		dispatch(c, type, now);
	}
	if (c->fd != -1 && c->eof && c->queued == REQ_NONE)
		client_close(c, lr_pending(&c->lr) ? "eof-mid-line" : "eof");
}

/* Read what client c has sent (poll said POLLIN or POLLHUP or POLLERR). */
void
client_read(struct client *c, short revents, double now)
{
	ssize_t n;

	if (c->lr.len == sizeof c->lr.buf) {
		/* A queued client that filled its buffer: only a hang-up
		 * is news (see the poll set). */
		if (revents & (POLLHUP | POLLERR))
			client_close(c, "hangup");
		return;
	}
	n = lr_fill(&c->lr);

	if (n == -1 && errno == EAGAIN)
		return;
	if (n == -1 && errno == EMSGSIZE) {
		/* The buffer is full and the line still has no end. */
		log_request("toolong peer=%s", c->peer);
		client_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
		return;
	}
	if (n == -1) {
		client_close(c, errno == ECONNRESET ? "reset" : "read-error");
		return;
	}
	if (n == 0 && (revents & (POLLHUP | POLLERR))) {
		/* Closed both ways: nobody is left to answer. */
		client_close(c, lr_pending(&c->lr) ? "eof-mid-line" : "eof");
		return;
	}
	/* End of file: the client has closed, or only shut down its writing
	 * (nc -N, shutdown(SHUT_WR)). Every complete line it sent before
	 * still gets its answer (client_lines), then the connection closes. */
	if (n == 0)
		c->eof = 1;
	client_lines(c, now);
}

/* ---- clients: accepting ------------------------------------------- */

/* Add the client connected on fd (from sa). Returns it, or NULL with
 * errno ENOMEM: the caller closes fd, and d serves the others. */
static struct client *
client_add(int fd, const struct sockaddr_in *sa, double now)
{
	struct client *c;

	if (d.nclients == d.cap_clients) {
		size_t cap = d.cap_clients ? 2 * d.cap_clients : 64;
		struct client **p = realloc(d.clients, cap * sizeof *p);

		if (p == NULL)
			return NULL;
		d.clients = p;
		d.cap_clients = cap;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->fd = fd;
	net_addr_str(sa, c->peer, sizeof c->peer);
	lr_init(&c->lr, fd);
	client_touch(c, now);
	d.clients[d.nclients++] = c;
	log_request("connect peer=%s clients=%zu", c->peer, d.nclients);
	return c;
}

/* The listening socket is readable: take the waiting connections.
 * Returns 0, or -1 with errno when the listening socket itself is
 * unusable (the main loop decides). */
int
accept_clients(double now)
{
	/* TODO 4.3: accept up to ACCEPT_BURST connections on
	 * opt.listen_fd with accept4(..., SOCK_CLOEXEC | SOCK_NONBLOCK),
	 * stop on EAGAIN. Over d.max_clients, answer "error busy" and close at once. On EMFILE or
	 * ENFILE pause the listener for 100 ms (d.listen_paused_until):
	 * why would d spin at 100% CPU if it simply went back to poll()? */
	d.listen_paused_until = now + 3600;
	return 0;
}

/* Send time-outs, then drop closed clients from the table. */
void
clients_sweep(double now)
{
	size_t i, kept = 0;

	for (i = 0; i < d.nclients; i++) {
		struct client *c = d.clients[i];

		if (c->fd != -1 && c->deadline <= now && c->inflight == 0) {
			if (c->queued != REQ_NONE) {
				queue_remove(c);
				log_request("busy peer=%s reason=queued-too-long", c->peer);
				client_error(c, PERR_BUSY, "waited too long for a w");
				client_touch(c, now);
				if (c->eof)
					client_close(c, "eof");
			} else {
				log_request("timeout peer=%s", c->peer);
				client_error(c, PERR_TIMEOUT, "idle for too long");
			}
		}
		if (c->fd == -1)
			free(c);
		else
			d.clients[kept++] = c;
	}
	d.nclients = kept;
}
