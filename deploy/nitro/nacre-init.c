/*
 * nacre-init: the enclave image's entry point. It brings up the loopback
 * interface, starts nacred and the application, and from then on only
 * forwards SIGTERM/SIGINT to both and reaps children. When either one
 * exits, the other is stopped (SIGTERM, then SIGKILL after a grace
 * period) and nacre-init exits with the first one's status, which ends
 * the enclave: no half of the pair runs without the other. No shell, no
 * configuration of its own: the command lines are its arguments.
 *
 *   nacre-init [--grace SECONDS] NACRED-ARGV... -- APP-ARGV...
 *
 * e.g. nacre-init /usr/sbin/nacred -c /etc/nacre/nacred.conf -- /app/server
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_DEFAULT_S 30

static int got_signal; /* the stop signal taken, or 0 */

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nacre-init: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ip link set lo up: the application and nacred may talk over 127.0.0.1,
 * and an enclave starts with lo down */
static int
loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* /proc for nacred (its descriptor count, its own executable for the
 * sim's PCR0); an enclave's own init usually mounted it already */
static void
proc_mounted(void)
{
	struct stat st;

	if (stat("/proc/self", &st) == 0)
		return;
	(void)mkdir("/proc", 0555);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0)
		say("cannot mount /proc: %s", strerror(errno));
}

static pid_t
start(char **argv, const char *what)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		say("cannot run the %s %s: %s", what, argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		say("cannot start the %s: %s", what, strerror(errno));
	else
		say("started the %s %s (pid %d)", what, argv[0], (int)pid);
	return pid;
}

static int
status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/* never kill(-1, …): a child already reaped is -1. SIGTERM goes once to
 * each: a second could reach nacred after its own handler is gone (it
 * removes it as it exits) and kill it mid-way. */
static pid_t termed[2];

static void
stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	if (sig == SIGTERM) {
		if (termed[0] == pid || termed[1] == pid)
			return;
		termed[termed[0] ? 1 : 0] = pid;
	}
	kill(pid, sig);
}

static void
usage(void)
{
	fprintf(stderr, "usage: nacre-init [--grace SECONDS] NACRED-ARGV... -- "
		"APP-ARGV...\n");
}

int
main(int argc, char **argv)
{
	sigset_t set;
	bool killed = false;
	long grace = GRACE_DEFAULT_S;
	char **nacred_argv, **app_argv = NULL;
	pid_t nacred, app, first = 0;
	int first_status = 0, i = 1, st;
	time_t deadline = 0;

	if (argc > 2 && strcmp(argv[1], "--grace") == 0) {
		char *end;
		grace = strtol(argv[2], &end, 10);
		if (*end || grace < 1 || grace > 3600) {
			say("--grace %s: give 1 to 3600 seconds", argv[2]);
			return 64;
		}
		i = 3;
	}
	nacred_argv = argv + i;
	for (; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			argv[i] = NULL;
			app_argv = argv + i + 1;
			break;
		}
	if (!app_argv || !nacred_argv[0] || !app_argv[0] ||
	    nacred_argv[0][0] != '/' || app_argv[0][0] != '/') {
		usage();
		say("both commands are needed, each an absolute path");
		return 64;
	}
	/* SIGTERM, SIGINT and SIGCHLD stay blocked and are taken with
	 * sigtimedwait: none can arrive between a check and a wait and be
	 * missed (the children get an empty mask before exec) */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	proc_mounted();
	if (loopback_up() != 0)
		say("cannot bring up lo: %s", strerror(errno));
	else
		say("lo is up");
	/* the application first: nacred connects to it per client */
	if ((app = start(app_argv, "application")) < 0)
		return 1;
	if ((nacred = start(nacred_argv, "nacred")) < 0) {
		stop(app, SIGTERM);
		waitpid(app, NULL, 0);
		return 1;
	}
	while (nacred > 0 || app > 0) {
		struct timespec tick = { 1, 0 };
		int sig = sigtimedwait(&set, NULL, &tick);
		pid_t pid;

		/* reap first: a pid that ended is never signalled again */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid != nacred && pid != app)
				continue; /* an orphan reparented to us */
			say("%s (pid %d) ended with status %d",
			    pid == nacred ? "nacred" : "the application",
			    (int)pid, status_code(st));
			if (!first) {
				first = pid;
				first_status = status_code(st);
			}
			if (pid == nacred)
				nacred = -1;
			else
				app = -1;
			stop(nacred, SIGTERM);
			stop(app, SIGTERM);
			if (!deadline)
				deadline = time(NULL) + grace;
		}
		if ((sig == SIGTERM || sig == SIGINT) && !got_signal) {
			got_signal = sig;
			say("signal %d: stopping nacred and the application",
			    sig);
			stop(nacred, SIGTERM);
			stop(app, SIGTERM);
			if (!deadline)
				deadline = time(NULL) + grace;
		}
		if (deadline && time(NULL) >= deadline && !killed) {
			killed = true;
			say("grace period over: SIGKILL");
			stop(nacred, SIGKILL);
			stop(app, SIGKILL);
		}
	}
	return got_signal && first_status == 0 ? 0 : first_status;
}
