/*
 * server.c - the servers' side of supervision (contracts in server.h).
 */
#define _DEFAULT_SOURCE	/* closefrom() */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "util.h"

int
fault_parse(const char *spec, struct fault *f)
{
	f->kind = FAULT_NONE;
	f->after = 0;
	if (strcmp(spec, "exit") == 0) {
		f->kind = FAULT_EXIT;
		return 0;
	}
	if (strncmp(spec, "hang:", 5) == 0 &&
	    parse_ulong(spec + 5, 1, 1000000, &f->after) == 0) {
		f->kind = FAULT_HANG;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int
server_attach(struct server *sv, int fd, unsigned slot)
{
	sv->reg = reg_attach(fd);
	if (sv->reg == NULL)
		return -1;
	sv->slot = slot;
	sv->answered = 0;
	/* NOTE: the slot's pid may not be ours yet: our parent writes it
	 * right after fork(), and we may get here first. */
	if (slot >= sv->reg->nslots) {
		server_detach(sv);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void
server_fault_at_start(const struct server *sv, int fd)
{
	if (sv->fault.kind != FAULT_EXIT)
		return;
	/* A crash at start-up: the supervisor's restart loop, its backoff
	 * and its intensity limit are what is being tested. The inherited
	 * descriptor is closed so that the crash is the only fault. */
	log_event("fault kind=exit");
	close(fd);
	exit(1);
}

void
server_refuse(struct server *sv, const char *fmt, ...)
{
	char why[sizeof sv->reg->refusal];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	warnx("%s", why);
	/* Read by the watchdog once it has reaped us: exit() and its wait()
	 * order the write before the read. */
	memcpy(sv->reg->refusal, why, sizeof why);
	/* We may be anywhere in start-up, holding the registry, the lock,
	 * a socket...: the kernel would close them all at exit, but closing
	 * them here leaves nothing for valgrind's --track-fds to report. */
	closefrom(3);
	exit(EXIT_NO_RESTART);
}

int
server_ready(struct server *sv)
{
	atomic_store(&sv->reg->slot[sv->slot].state, SLOT_READY);
	return kill(sv->reg->watchdog, SIGUSR2);
}

int
server_heartbeat(struct server *sv, const struct sig_event *ev)
{
	struct reg_slot *s = &sv->reg->slot[sv->slot];

	/* TODO 3.1: answer a heartbeat. Ignore a SIGUSR1 that does not
	 * come from the watchdog (ev->pid). Add 1 to our slot's counter
	 * (atomic_fetch_add), count it in sv->answered, then send SIGUSR2 to
	 * the watchdog. This runs in the main loop, not in the handler:
	 * what would a reply sent from the handler prove about a server
	 * whose main loop is stuck? And why bump the counter *before*
	 * sending the signal? */
	/* BEGIN SOLUTION 3.1 */
	if (ev->pid != sv->reg->watchdog)
		return 0;
	atomic_fetch_add(&s->beats, 1);
	sv->answered++;
	if (kill(sv->reg->watchdog, SIGUSR2) == -1)
		return -1;
	/* END SOLUTION */
	/* STUB 3.1:
	return 0;
	*/
	if (sv->fault.kind == FAULT_HANG && sv->answered >= sv->fault.after) {
		/* The main loop stops for good while the handlers still run:
		 * SIGUSR1 is caught and recorded, nobody reads the record.
		 * NOTE: pause() rather than a busy loop: the same symptom,
		 * without burning a core until the watchdog notices. */
		log_event("fault kind=hang after=%lu", sv->answered);
		for (;;)
			pause();
	}
	return 1;
}

void
server_detach(struct server *sv)
{
	if (sv->reg != NULL)
		reg_detach(sv->reg);
	sv->reg = NULL;
}
