/*
 * rsh_server.c - the tutorial's rsh server (TD n°7, §4), in C, made
 * safe: it runs only the commands listed on its own command line.
 *
 * Each line a client sends names a command. If the line is exactly one of
 * the allowed command lines, the server forks; the child points its stdout
 * and stderr at the client's socket (dup2) and execs the command, whose
 * output therefore goes straight to the client. Anything else gets
 * "<line>: not allowed". Like last_server, it stops after its last client
 * (and once every command it started has ended and been reaped).
 *
 *     rsh_server [-p PORT] COMMAND-LINE...
 *     rsh_server -p 2006 date 'uname -s' 'echo hello'
 *     echo 'uname -s' | nc -q 1 127.0.0.1 2006
 *
 * Why an allow-list? The tutorial's version runs whatever the client
 * sends, as the server's user: anyone who can connect owns the account
 * ("rm -rf ~" is one line away). Here the client only picks one of the
 * lines the operator wrote, and its arguments come from the operator too;
 * no shell is involved, so "date; rm -rf ~" is just a line not in the list.
 * And it listens on 127.0.0.1 only: other machines cannot connect at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "selfpipe.h"
#include "tcp.h"
#include "util.h"

#define MAX_CLIENTS 100
#define MAX_ARGS 16
#define LINE_MAX_LEN 256

enum { PFD_SIGNAL, PFD_LISTEN, PFD_FIRST_CLIENT };

static struct pollfd pfd[PFD_FIRST_CLIENT + MAX_CLIENTS];
static struct line_reader lr[MAX_CLIENTS];	/* client i's lines */
static size_t nopen;		/* clients in pfd[PFD_FIRST_CLIENT...] */

static char **allowed;		/* the allowed command lines (argv's tail) */
static int nallowed;
static unsigned running;	/* commands started and not reaped yet */

/* The allowed command line equal to line, or NULL. */
static const char *
find_allowed(const char *line)
{
	int i;

	/* TODO 4.15: return the allowed[i] (i < nallowed) that is exactly
	 * line, else NULL. Not a prefix, not a first word: why would
	 * "uname -s; id" or "rm -rf ~" be dangerous otherwise? */
	return NULL;
}

/*
 * Run the allowed command line cmd with its output going to socket fd.
 * The argv is cut from the operator's string, never from the client's.
 */
static void
run_command(const char *cmd, int fd)
{
	char copy[LINE_MAX_LEN], *argv[MAX_ARGS + 1], *save = NULL, *word;
	int argc = 0, devnull;
	pid_t pid;

	snprintf(copy, sizeof copy, "%s", cmd);
	for (word = strtok_r(copy, " ", &save); word != NULL && argc < MAX_ARGS;
	    word = strtok_r(NULL, " ", &save))
		argv[argc++] = word;
	argv[argc] = NULL;
	/* TODO 4.14: fork. The child points stdin at /dev/null (the command
	 * must not read the client's next lines), stdout and stderr at the
	 * socket fd (dup2), restores SIGPIPE's default, and execvp()s argv;
	 * on any failure child_fatal(127, ...). The parent, on fork failure,
	 * warn()s and returns. Why fork at all, why not exec in the server? */
	errno = ENOSYS;
	warn("fork");
	return;
	running++;
	log_event("started command=\"%s\" pid=%ld", cmd, (long)pid);
}

/* Reap every command that has ended (signals coalesce: loop). */
static void
reap(void)
{
	struct sig_event ev;
	char how[64];
	int status;
	pid_t pid;

	while (selfpipe_read(&ev) == 1)
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		running--;
		log_event("reaped pid=%ld status=\"%s\"", (long)pid,
		    status_str(status, how, sizeof how));
	}
}

/* Accept the waiting client. Returns -1 if there was none. */
static int
accept_client(void)
{
	char peer[32];
	int cfd = tcp_accept(pfd[PFD_LISTEN].fd, peer, sizeof peer);

	if (cfd == -1)
		return -1;
	log_event("connected peer=%s", peer);
	lr_init(&lr[nopen], cfd);
	pfd[PFD_FIRST_CLIENT + nopen++] = (struct pollfd){ cfd, POLLIN, 0 };
	return 0;
}

/* Tell the client on fd that line is not allowed: the server always
 * answers something. */
static void
refuse(int fd, const char *line)
{
	char msg[LINE_MAX_LEN + 32];
	int len = snprintf(msg, sizeof msg, "%.200s: not allowed\n", line);

	log_event("refused line=\"%.64s\"", line);
	(void)write_all(fd, msg, (size_t)len);
}

/*
 * Run or refuse each line client i has sent. Returns -1 once it has
 * closed, reset, or sent a line too long: forget it then.
 */
static int
serve_client(size_t i)
{
	int fd = pfd[PFD_FIRST_CLIENT + i].fd, got = 0;
	char line[LINE_MAX_LEN];
	ssize_t n = lr_fill(&lr[i]);

	while (n > 0 && (got = lr_next(&lr[i], line, sizeof line)) == 1) {
		const char *cmd = find_allowed(line);

		if (cmd != NULL)
			run_command(cmd, fd);
		else
			refuse(fd, line);
	}
	return n > 0 && got != -1 ? 0 : -1;
}

/*
 * Close client i; the last one moves into its slot. A command still
 * running keeps its own copy of the socket, so its output still reaches
 * the client.
 */
static void
forget(size_t i)
{
	log_event("closed open=%zu", nopen - 1);
	close(pfd[PFD_FIRST_CLIENT + i].fd);
	pfd[PFD_FIRST_CLIENT + i] = pfd[PFD_FIRST_CLIENT + --nopen];
	lr[i] = lr[nopen];
}

int
main(int argc, char **argv)
{
	unsigned long port = 2006;
	size_t i;
	int c, first = 1;

	log_init("rsh_server");
	while ((c = getopt(argc, argv, "p:h")) != -1) {
		if (c == 'p' && parse_ulong(optarg, 0, 65535, &port) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr,
		    "usage: rsh_server [-p PORT] COMMAND-LINE...\n"
		    "  a client line runs only if it is exactly one of the COMMAND-LINEs\n");
		exit(c == 'h' ? 0 : 2);
	}
	allowed = argv + optind;
	nallowed = argc - optind;
	if (nallowed == 0) {
		fprintf(stderr, "rsh_server: give at least one allowed command line\n");
		exit(2);
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	pfd[PFD_SIGNAL] = (struct pollfd){ selfpipe_open(), POLLIN, 0 };
	if (pfd[PFD_SIGNAL].fd == -1 || selfpipe_catch(SIGCHLD) == -1)
		fatal("self-pipe");
	pfd[PFD_LISTEN] = (struct pollfd){ tcp_listen((unsigned)port), POLLIN, 0 };

	while (first || nopen > 0 || running > 0) {
		/* Once the last client has gone, stop listening. */
		pfd[PFD_LISTEN].events = first || nopen > 0 ? POLLIN : 0;
		if (poll(pfd, PFD_FIRST_CLIENT + nopen, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[PFD_SIGNAL].revents != 0)
			reap();
		if (pfd[PFD_LISTEN].revents != 0 && nopen < MAX_CLIENTS &&
		    accept_client() == 0)
			first = 0;
		for (i = 0; i < nopen;) {
			if (pfd[PFD_FIRST_CLIENT + i].revents != 0 && serve_client(i) == -1)
				forget(i);	/* slot i now holds another client: look at it */
			else
				i++;
		}
	}
	close(pfd[PFD_LISTEN].fd);
	selfpipe_close();
	log_event("last connection closed, bye");
	return 0;
}
