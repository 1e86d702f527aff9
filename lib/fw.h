/* See COPYING for copyright and license details. */
/*
 * fw: haproxy-reload's SYN-drop rules in the filter table's INPUT chain
 * (iptables, and ip6tables when present): one rule per port, tagged with
 * the comment "haproxy-reload:PORT", put in, taken out, and found again
 * after a killed run in "iptables -S INPUT". The tools run from argv, never
 * a shell. fw_hold() runs a command while the rules are in and takes them
 * out on every path. Structs are the caller's; argv strings point into
 * them.
 */
#ifndef GALLEY_FW_H
#define GALLEY_FW_H

#include <stddef.h>
#include <sys/types.h>

#define FW_TAG "haproxy-reload:"	/* the comment: FW_TAG then the port */
#define FW_PORTS_MAX 64
#define FW_ARGV_MAX 48

/* One rule as an argv for its tool: "-w -I|-D INPUT -p tcp ... -j DROP". */
struct fw_rule {
	char port[8];
	char comment[32];
	const char *argv[20];	/* NULL-terminated */
};

/* Build tool's argv to insert ("-I") or delete ("-D") the rule for port. */
void fw_rule_argv(struct fw_rule *r, const char *tool, const char *op,
    unsigned port);

/*
 * Parse a list of ports, "80" or "80,443": 1..65535, no duplicates, at most
 * FW_PORTS_MAX. Returns how many, or -1.
 */
int fw_ports_parse(const char *s, unsigned *ports, size_t max);

/*
 * Split one line of "iptables -S" into words, undoing its quoting ("..."
 * with \" and \\). Returns how many words (at most max), or -1 when the
 * line is badly quoted or too long for store.
 */
int fw_split(const char *line, char *store, size_t storelen, char *w[],
    size_t max);

/*
 * A tagged rule in "iptables -S INPUT" output, as the argv that deletes it.
 * fw_stale_next() takes the next one from *pos (start at the listing) and
 * returns 1, or 0 when there are no more.
 */
struct fw_stale {
	char store[1024];
	const char *argv[FW_ARGV_MAX];	/* tool -w -D INPUT ... */
	char line[512];			/* the listing's line, for messages */
};
int fw_stale_next(const char **pos, const char *tool, struct fw_stale *s);

/* Is the program name found in PATH? */
int fw_present(const char *name);

/*
 * Delete every tagged rule left in tool's INPUT chain. Returns how many
 * were removed, or -1 (after saying why) when the listing or a delete
 * failed; errno ENOENT when tool is not found.
 */
int fw_clear_stale(const char *tool, long long timeout_ms);

/* A reload command run while new SYNs to the ports are dropped. */
struct fw_hold {
	const char *tools[2];	/* "iptables", then "ip6tables" or NULL */
	const unsigned *ports;
	size_t nports;
	long long settle_ms;	/* rules in, then this long before the command */
	long long max_hold_ms;	/* rules out at the latest this long after in */
	long long timeout_ms;	/* the command's own limit, then TERM, KILL */
	char *const *argv;	/* the command */
	/* results */
	int ran;		/* the command was started */
	int exec_errno;		/* it could not be (ENOENT: not found) */
	int wstatus;		/* its wait status when it ran */
	int timed_out;		/* it outlived timeout_ms and was killed */
	int cut;		/* max-hold took the rules out while it ran */
	int signal;		/* TERM, INT or HUP arrived (rules out, command stopped) */
	long long held_ms;	/* how long the rules were in */
};

enum { FW_OK = 0, FW_EINSERT = -1, FW_EREMOVE = -2 };

/*
 * Insert the rules, wait settle_ms, run the command, take the rules out
 * when it ends or max_hold_ms after they went in, whichever is first, then
 * wait for the rest of its timeout_ms. TERM, INT and HUP are held off while
 * the rules are in: one takes them out at once and stops the command; the
 * caller then dies of h->signal. Returns FW_OK (see the results),
 * FW_EINSERT (nothing left in; errno ENOENT when iptables is not found) or
 * FW_EREMOVE (a rule could not be taken out: said which).
 */
int fw_hold(struct fw_hold *h);

#endif
