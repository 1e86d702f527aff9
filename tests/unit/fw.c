/* See COPYING for copyright and license details. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fw.h"
#include "proc.h"
#include "tap.h"
#include "util.h"

/* Real "iptables -S INPUT" output (iptables 1.8.9, nf_tables). */
static const char listing[] =
    "-P INPUT ACCEPT\n"
    "-A INPUT -p tcp -m tcp --dport 81 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment \"has \\\"quote\\\" and space\\\\x\" -j DROP\n"
    "-A INPUT -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment \"haproxy-reload:80\" -j DROP\n"
    "-A INPUT -s 10.0.0.0/8 -j ACCEPT\n"
    "-A INPUT -p tcp -m tcp --dport 443 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment \"haproxy-reload:443\" -j DROP";

static char *
join(const char *const argv[])
{
	static char s[1024];
	size_t i;

	s[0] = '\0';
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			strncat(s, " ", sizeof(s) - strlen(s) - 1);
		strncat(s, argv[i], sizeof(s) - strlen(s) - 1);
	}
	return s;
}

static void
test_argv(void)
{
	struct fw_rule r;
	unsigned ports[FW_PORTS_MAX];

	fw_rule_argv(&r, "iptables", "-I", 8080);
	is_str(join(r.argv), "iptables -w -I INPUT -p tcp --dport 8080 --syn -m "
	    "comment --comment haproxy-reload:8080 -j DROP", "insert argv");
	fw_rule_argv(&r, "ip6tables", "-D", 80);
	is_str(join(r.argv), "ip6tables -w -D INPUT -p tcp --dport 80 --syn -m "
	    "comment --comment haproxy-reload:80 -j DROP", "delete argv, ip6tables");

	ok(fw_ports_parse("80", ports, FW_PORTS_MAX) == 1 && ports[0] == 80,
	    "ports: 80");
	ok(fw_ports_parse("80,443,8080", ports, FW_PORTS_MAX) == 3 &&
	    ports[1] == 443 && ports[2] == 8080, "three ports");
	ok(fw_ports_parse("65535", ports, FW_PORTS_MAX) == 1, "65535");
	is_int(fw_ports_parse("", ports, FW_PORTS_MAX), -1, "empty");
	is_int(fw_ports_parse("0", ports, FW_PORTS_MAX), -1, "0");
	is_int(fw_ports_parse("65536", ports, FW_PORTS_MAX), -1, "65536");
	is_int(fw_ports_parse("99999999999999999999", ports, FW_PORTS_MAX), -1,
	    "no overflow");
	is_int(fw_ports_parse("80,80", ports, FW_PORTS_MAX), -1, "twice");
	is_int(fw_ports_parse("80,", ports, FW_PORTS_MAX), -1, "a trailing comma");
	is_int(fw_ports_parse("http", ports, FW_PORTS_MAX), -1, "a name");
	is_int(fw_ports_parse("80 443", ports, FW_PORTS_MAX), -1, "a space");
	is_int(fw_ports_parse("1,2,3", ports, 2), -1, "more than max");
}

static void
test_split(void)
{
	char store[256], *w[16];
	int n;

	n = fw_split("-A INPUT -m comment --comment \"a \\\"b\\\" \\\\c\" -j DROP",
	    store, sizeof(store), w, 16);
	is_int(n, 8, "split: eight words");
	is_str(w[6], "-j", "after the quoted one");
	is_str(w[5], "a \"b\" \\c", "quotes and backslashes undone");
	n = fw_split("  -A   INPUT\n", store, sizeof(store), w, 16);
	ok(n == 2 && strcmp(w[1], "INPUT") == 0, "runs of spaces, a newline");
	is_int(fw_split("-A \"open", store, sizeof(store), w, 16), -1,
	    "an open quote");
	is_int(fw_split("--comment \"x\"y", store, sizeof(store), w, 16), -1,
	    "text glued to a quote");
	is_int(fw_split("a b c", store, sizeof(store), w, 2), -1, "too many words");
	is_int(fw_split("abcdefgh", store, 4, w, 16), -1, "too long for the store");
	is_int(fw_split("", store, sizeof(store), w, 16), 0, "empty: none");
}

static void
test_stale(void)
{
	const char *pos = listing;
	struct fw_stale s;
	int n = 0;

	ok(fw_stale_next(&pos, "iptables", &s), "stale: one found");
	is_str(join(s.argv), "iptables -w -D INPUT -p tcp -m tcp --dport 80 "
	    "--tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment haproxy-reload:80 "
	    "-j DROP", "as the argv that deletes it");
	ok(strstr(s.line, "haproxy-reload:80") != NULL, "its line kept for the message");
	ok(fw_stale_next(&pos, "iptables", &s), "the second");
	ok(strstr(join(s.argv), "--dport 443") != NULL, "port 443, without a newline at the end");
	ok(!fw_stale_next(&pos, "iptables", &s), "no more: others' rules untouched");
	pos = "-P INPUT ACCEPT\n-A OUTPUT -m comment --comment \"haproxy-reload:80\" -j DROP\n";
	while (fw_stale_next(&pos, "iptables", &s))
		n++;
	is_int(n, 0, "another chain is not ours");
	pos = "-A INPUT -m comment --comment \"haproxy-reloader\" -j DROP\n"
	    "-A INPUT -m comment --comment \"not haproxy-reload:80\" -j DROP\n";
	while (fw_stale_next(&pos, "iptables", &s))
		n++;
	is_int(n, 0, "the tag must start the comment");
	pos = "";
	ok(!fw_stale_next(&pos, "iptables", &s), "an empty listing");
}

static int
count_tagged(const char *tool)
{
	const char *av[] = { tool, "-w", "-S", "INPUT", NULL }, *pos;
	struct buf out = BUF_INIT;
	struct fw_stale s;
	int st, n = 0;

	if (proc_run((char *const *)av, 5000, &out, &st) != 0 || st != 0) {
		buf_free(&out);
		return -1;
	}
	pos = out.data != NULL ? out.data : "";
	while (fw_stale_next(&pos, tool, &s))
		n++;
	buf_free(&out);
	return n;
}

static int
run(const char *const av[])
{
	int st;

	return proc_run((char *const *)av, 5000, NULL, &st) == 0 &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void
hold_init(struct fw_hold *h, const unsigned *ports, size_t n, char *const *argv)
{
	memset(h, 0, sizeof(*h));
	h->tools[0] = "iptables";
	h->tools[1] = fw_present("ip6tables") ? "ip6tables" : NULL;
	h->ports = ports;
	h->nports = n;
	h->settle_ms = 50;
	h->max_hold_ms = 2000;
	h->timeout_ms = 5000;
	h->argv = argv;
}

/* The real thing, as root in a network namespace of our own. */
static void
test_hold(const char *dir)
{
	static const unsigned ports[] = { 80, 443 };
	char seen[256], script[512];
	char *cmd[] = { "sh", "-c", script, NULL };
	char *fail[] = { "sh", "-c", "exit 3", NULL };
	char *slow[] = { "sleep", "1", NULL };
	char *hang[] = { "sleep", "30", NULL };
	char *none[] = { "/nonexistent/reload", NULL };
	const char *other[] = { "iptables", "-w", "-I", "INPUT", "-p", "tcp",
	    "--dport", "22", "-j", "ACCEPT", NULL };
	struct fw_rule r;
	struct fw_hold h;
	long long t0;
	char *text;
	size_t len;
	int st;
	pid_t pid;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0 ||
	    !fw_present("iptables") || count_tagged("iptables") != 0) {
		tap_ok(1, __FILE__, __LINE__, "fw_hold # SKIP needs root, "
		    "unshare(CLONE_NEWNET) and iptables");
		return;
	}
	snprintf(seen, sizeof(seen), "%s/seen", dir);
	snprintf(script, sizeof(script), "iptables -w -S INPUT >%s", seen);

	hold_init(&h, ports, 2, cmd);
	is_int(fw_hold(&h), FW_OK, "hold: done");
	ok(h.ran && WIFEXITED(h.wstatus) && WEXITSTATUS(h.wstatus) == 0,
	    "the command ran and exited 0");
	ok(util_read_file(seen, 65536, &text, &len) == 0 &&
	    strstr(text, "--dport 80 ") != NULL &&
	    strstr(text, "\"haproxy-reload:443\"") != NULL,
	    "it ran with both tagged rules in");
	free(text);
	is_int(count_tagged("iptables"), 0, "and they are out afterwards");
	if (h.tools[1] != NULL)
		is_int(count_tagged("ip6tables"), 0, "ip6tables too");
	ok(h.held_ms >= 50 && h.held_ms < 2000, "held for settle plus the command");

	hold_init(&h, ports, 1, fail);
	is_int(fw_hold(&h), FW_OK, "a failing command");
	ok(WIFEXITED(h.wstatus) && WEXITSTATUS(h.wstatus) == 3, "its status");
	is_int(count_tagged("iptables"), 0, "rules out");

	hold_init(&h, ports, 1, none);
	is_int(fw_hold(&h), FW_OK, "a command that is not there");
	ok(!h.ran && h.exec_errno == ENOENT, "not run, ENOENT");
	is_int(count_tagged("iptables"), 0, "rules out");

	hold_init(&h, ports, 1, slow);
	h.max_hold_ms = 300;
	t0 = util_now_ms();
	is_int(fw_hold(&h), FW_OK, "max-hold shorter than the command");
	ok(h.cut && h.held_ms >= 300 && h.held_ms < 900, "rules out at max-hold");
	ok(h.ran && !h.timed_out && WIFEXITED(h.wstatus) &&
	    WEXITSTATUS(h.wstatus) == 0 && util_now_ms() - t0 >= 1000,
	    "the command still ran to its end");

	hold_init(&h, ports, 1, hang);
	h.max_hold_ms = 200;
	h.timeout_ms = 500;
	t0 = util_now_ms();
	is_int(fw_hold(&h), FW_OK, "a hanging command");
	ok(h.timed_out && WIFSIGNALED(h.wstatus) &&
	    WTERMSIG(h.wstatus) == SIGTERM, "stopped with SIGTERM at the timeout");
	ok(util_now_ms() - t0 < 2000 && h.held_ms < 500, "in time, rules out before");
	is_int(count_tagged("iptables"), 0, "rules out");

	/* A stop signal during the hold: rules out, command stopped. */
	pid = fork();
	if (pid == 0) {
		hold_init(&h, ports, 2, hang);
		h.max_hold_ms = 20000;
		h.timeout_ms = 20000;
		fw_hold(&h);
		_exit(h.signal == SIGTERM && count_tagged("iptables") == 0 ? 42 : 1);
	}
	for (t0 = util_now_ms(); util_now_ms() - t0 < 5000 &&
	    count_tagged("iptables") != 2;)
		util_sleep_ms(20);
	is_int(count_tagged("iptables"), 2, "signal: the rules are in");
	util_sleep_ms(100);	/* the command runs */
	kill(pid, SIGTERM);
	t0 = util_now_ms();
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	    "SIGTERM: fw_hold returned with it, rules out");
	ok(util_now_ms() - t0 < 3000, "at once");
	is_int(count_tagged("iptables"), 0, "none left");

	/* A run killed with SIGKILL leaves its rule; the next clears it. */
	fw_rule_argv(&r, "iptables", "-I", 8080);
	ok(run(r.argv) == 0 && run(other) == 0, "a stale rule and someone else's");
	is_int(fw_clear_stale("iptables", 5000), 1, "clear_stale: one removed");
	is_int(count_tagged("iptables"), 0, "none of ours left");
	other[2] = "-D";
	is_int(run(other), 0, "the other rule was kept");
	is_int(fw_clear_stale("iptables", 5000), 0, "nothing stale: 0");
	errno = 0;
	ok(fw_clear_stale("/nonexistent/iptables", 1000) < 0 && errno == ENOENT,
	    "no iptables: -1, ENOENT");
	h.tools[0] = "/nonexistent/iptables";
	h.tools[1] = NULL;
	errno = 0;
	ok(fw_hold(&h) == FW_EINSERT && errno == ENOENT && !h.ran,
	    "hold without iptables: FW_EINSERT, ENOENT, nothing run");
	unlink(seen);
}

int
main(void)
{
	char dir[] = "/tmp/galley-fw-XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	log_level = LOG_QUIET;	/* the stale rule's warning is expected */
	test_argv();
	test_split();
	test_stale();
	ok(fw_present("sh") && !fw_present("no-such-tool-galley") &&
	    fw_present("/bin/sh") && !fw_present("/nonexistent/sh"),
	    "fw_present: PATH and paths");
	test_hold(dir);
	rmdir(dir);
	return done_testing();
}
