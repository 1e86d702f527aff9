/* See COPYING for copyright and license details. */
/*
 * dockerhost-resolve: first in a container's ENTRYPOINT chain (DESIGN.md
 * §5). Works out the Docker host's address (-a, DOCKERHOST, else the
 * default gateway), makes the hosts file map "dockerhost" to it on
 * exactly one line, in place and only if needed, exports it and execs the
 * command in place, so PID 1 stays PID 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosts.h"
#include "log.h"
#include "proc.h"
#include "route.h"
#include "util.h"

#define LOCK_WAIT_MS 10000	/* for the hosts file's flock */
#define NAMES_MAX 32		/* -n given more often is a usage error */

static const char usage_line[] =
    "dockerhost-resolve [-kpqv] [-a address] [-e var] [-f hostsfile] "
    "[-n name]... [command [arg ...]]";

static const char help_text[] =
    "usage: dockerhost-resolve [-kpqv] [-a address] [-e var] [-f hostsfile]\n"
    "                          [-n name]... [command [arg ...]]\n"
    "\n"
    "Map NAME (default dockerhost) to the Docker host's address in HOSTSFILE,\n"
    "on exactly one line, in place, then run COMMAND in place of this process\n"
    "with the address in $DOCKERHOST. Without a command, print the address.\n"
    "The address is -a, else $DOCKERHOST, else the IPv4 default gateway.\n"
    "\n"
    "  -a, --address=ADDRESS  the address, instead of the default gateway\n"
    "  -e, --export=VAR       export the address as VAR (default DOCKERHOST)\n"
    "  -f, --file=HOSTSFILE   the hosts file (default /etc/hosts)\n"
    "  -k, --keep-going       on failure, warn and run the command anyway\n"
    "  -n, --name=NAME        the name to map (repeatable; default dockerhost)\n"
    "  -p, --print            print the address only, change nothing\n"
    "  -q, --quiet            no warnings\n"
    "  -v, --verbose          say where the address came from and what changed\n"
    "  -h, --help             this help\n"
    "      --version          print the version\n"
    "\n"
    "Environment: DOCKERHOST (the address), DOCKERHOST_KEEP_GOING=1 (-k),\n"
    "DOCKERHOST_ROUTE_FILE (read instead of /proc/net/route, for tests).\n"
    "\n"
    "Exit status: the command's; without one 0, or 1 when there is no address\n"
    "or the file cannot be updated; 125 for those and usage errors when there\n"
    "is a command; 126 the command cannot be run, 127 it was not found.\n";

/* Usage error: what was wrong, then the usage line (exit 125). */
static _Noreturn void
usage_error(const char *what, const char *why)
{
	log_err("%s: %s", what, why);
	log_usage(125, usage_line);
}

/*
 * The default gateway, canonical in addr. Returns 0, or -1 after saying
 * why there is none (an error, or a warning when keep_going).
 */
static int
gateway(char addr[INET6_ADDRSTRLEN], int keep_going)
{
	const char *path = util_env("DOCKERHOST_ROUTE_FILE");
	void (*say)(const char *, ...) = keep_going ? log_warn : log_err;
	const char *then = keep_going ? "; running the command without it" :
	    "; set DOCKERHOST or use -a";
	struct route_gw gw;
	int r;

	if (path == NULL)
		path = ROUTE_FILE;
	r = route_default_gw(path, &gw);
	if (r < 0) {
		say("%s: cannot read: %s%s", path, errno == EFBIG ?
		    "larger than 1 MiB" : strerror(errno), then);
		return -1;
	}
	if (r > 0 && gw.unusable == 0) {
		say("%s: no default route%s", path, then);
		return -1;
	}
	if (r > 0) {
		say("%s: no default gateway: %d default route%s without a "
		    "gateway, down or rejecting%s", path, gw.unusable,
		    gw.unusable == 1 ? "" : "s", then);
		return -1;
	}
	inet_ntop(AF_INET, &gw.addr, addr, INET6_ADDRSTRLEN);
	log_debug("address %s: default gateway on %s, metric %lu, from %s",
	    addr, gw.iface, (unsigned long)gw.metric, path);
	return 0;
}

static const char *
hosts_why(int e)
{
	switch (e) {
	case EFBIG:
		return "larger than 1 MiB";
	case EINVAL:
		return "not a regular file";
	case EWOULDBLOCK:
		return "still locked by another process after 10s";
	default:
		return strerror(e);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "export", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "print", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given, *from, *var = "DOCKERHOST", *file = HOSTS_FILE, *kg;
	static char *names[NAMES_MAX] = { "dockerhost" };
	char addr[INET6_ADDRSTRLEN];
	int c, keep_going = 0, print_only = 0, have_addr, fail, r;
	size_t i, nnames = 0;

	util_checkfds();
	log_init("dockerhost-resolve", 125);
	/*
	 * getopt's messages start with argv[0], which an ENTRYPOINT makes a
	 * full path: make them "dockerhost-resolve: ..." like ours.
	 */
	argv[0] = (char *)log_tool;

	/* 1. Options, up to the command ("+": its own options are its own). */
	given = NULL;
	from = "-a";
	while ((c = getopt_long(argc, argv, "+a:e:f:hkn:pqv", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			given = optarg;
			break;
		case 'e':
			var = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		case 'k':
			keep_going = 1;
			break;
		case 'n':
			if (nnames < NAMES_MAX)
				names[nnames++] = optarg;
			else
				usage_error("-n", "given more than 32 times");
			break;
		case 'p':
			print_only = 1;
			break;
		case 'q':
			log_level = LOG_QUIET;
			break;
		case 'v':
			log_level = LOG_VERBOSE;
			break;
		case 'V':
			puts("dockerhost-resolve (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		default:
			log_usage(125, usage_line);
		}
	}
	argc -= optind;
	argv += optind;

	/* 2. Check the settings before touching anything. */
	if (print_only && argc > 0)
		usage_error("-p", "prints the address only: it runs no command");
	if (!util_is_name(var, strlen(var)))
		usage_error("-e", "expected a variable name [A-Za-z_][A-Za-z0-9_]*");
	if (*file == '\0')
		usage_error("-f", "the file name is empty");
	if (nnames == 0)
		nnames = 1;	/* the default, dockerhost */
	for (i = 0; i < nnames; i++)
		if (!hosts_name_ok(names[i]))
			log_die(125, "-n %s: not a host name: use letters, digits, "
			    "'.', '-' and '_', starting with a letter or digit",
			    names[i]);
	if ((kg = util_env("DOCKERHOST_KEEP_GOING")) != NULL) {
		if (strcmp(kg, "1") == 0)
			keep_going = 1;
		else if (strcmp(kg, "0") != 0)
			log_die(125, "DOCKERHOST_KEEP_GOING=%s: expected 1 or 0", kg);
	}
	fail = argc > 0 ? 125 : 1;

	/* 3. The address: -a, else DOCKERHOST, else the default gateway. */
	if (given == NULL && (given = util_env("DOCKERHOST")) != NULL)
		from = "DOCKERHOST";
	if (given != NULL) {
		if (hosts_canon_addr(given, addr) < 0)
			log_die(125, "%s %s: not a numeric IPv4 or IPv6 address",
			    from, given);
		log_debug("address %s: from %s", addr, from);
		have_addr = 1;
	} else {
		have_addr = gateway(addr, keep_going && argc > 0) == 0;
		if (!have_addr && !(keep_going && argc > 0))
			return fail;
	}
	if (print_only) {
		puts(addr);
		return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
	}

	/* 4. The hosts file: in place, under flock, only if it needs it. */
	if (have_addr) {
		r = hosts_update(file, addr, names, nnames, LOCK_WAIT_MS);
		if (r < 0 && !keep_going) {
			log_err("%s: cannot update: %s (-k goes on without it)",
			    file, hosts_why(errno));
			return fail;
		}
		if (r < 0)
			log_warn("%s: cannot update: %s; going on without it",
			    file, hosts_why(errno));
		else if (r == 0)
			log_debug("%s: already maps %s to %s: not written", file,
			    nnames == 1 ? names[0] : "every name", addr);
		else
			log_debug("%s: now maps %s to %s", file,
			    nnames == 1 ? names[0] : "every name", addr);
	}

	/* 5. No command: print the address, like -p. */
	if (argc == 0) {
		puts(addr);
		return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
	}

	/* 6. Export it and become the command (same PID, fds, cwd). */
	if (have_addr && setenv(var, addr, 1) < 0)
		log_die(125, "setenv %s:", var);
	fflush(stdout);
	util_coverage_flush();
	execvp(argv[0], argv);
	r = proc_exec_status(errno);
	log_err("%s: cannot run:", argv[0]);
	return r;
}
