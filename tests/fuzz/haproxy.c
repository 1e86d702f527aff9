/* See COPYING for copyright and license details. */
/*
 * Fuzz haproxy-reload's text parsers: the master CLI's "show proc", the
 * configuration scanner of the advice, and the "iptables -S" reader of
 * lib/fw. The same bytes go to all three. Invariants: "show proc" keeps
 * its counts within bounds, lists only PIDs > 0, and compared with itself
 * never confirms or refuses a reload; the advice names only defaults,
 * frontend and listen sections at lines that exist; every stale rule found
 * is a delete of a rule in INPUT carrying our tag, and the reader moves on.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fw.h"
#include "haproxy.h"
#include "log.h"

static void
check_proc(const char *text)
{
	struct haproxy_proc p;
	size_t i;
	pid_t n = 0;

	if (haproxy_proc_parse(text, &p) < 0) {
		FUZZ_ASSERT(p.master == 0);
		return;
	}
	FUZZ_ASSERT(p.master > 0);
	FUZZ_ASSERT(p.nworkers <= HAPROXY_PROCS_MAX && p.nold <= HAPROXY_PROCS_MAX);
	FUZZ_ASSERT(p.reloads >= -1 && p.failed >= -1);
	for (i = 0; i < p.nworkers; i++)
		FUZZ_ASSERT(p.workers[i] > 0 && haproxy_proc_has(&p, p.workers[i]));
	for (i = 0; i < p.nold; i++)
		FUZZ_ASSERT(p.old[i] > 0);
	FUZZ_ASSERT(haproxy_proc_confirm(&p, &p, &n) == HAPROXY_PENDING && n == 0);
}

static void
check_config(const char *text)
{
	struct haproxy_config c;
	size_t i, lines = 1;
	const char *s;

	for (s = text; *s != '\0'; s++)
		lines += *s == '\n';
	haproxy_config_scan(text, &c);
	FUZZ_ASSERT(c.nidle <= HAPROXY_ADVICE_MAX);
	FUZZ_ASSERT(c.more == 0 || c.nidle == HAPROXY_ADVICE_MAX);
	for (i = 0; i < c.nidle; i++) {
		const struct haproxy_advice *a = &c.idle[i];

		FUZZ_ASSERT(a->line >= 1 && (size_t)a->line <= lines);
		FUZZ_ASSERT(strcmp(a->kind, "defaults") == 0 ||
		    strcmp(a->kind, "frontend") == 0 || strcmp(a->kind, "listen") == 0);
		FUZZ_ASSERT(memchr(a->name, '\0', sizeof(a->name)) != NULL);
		FUZZ_ASSERT(i == 0 || a->line > c.idle[i - 1].line);
	}
}

static void
check_stale(const char *text)
{
	const char *pos = text, *before;
	struct fw_stale st;
	size_t n = 0, i, lines = 1;
	const char *s;
	int tagged;

	for (s = text; *s != '\0'; s++)
		lines += *s == '\n';
	for (;;) {
		before = pos;
		if (!fw_stale_next(&pos, "iptables", &st))
			break;
		FUZZ_ASSERT(pos > before && pos <= text + strlen(text));
		FUZZ_ASSERT(++n <= lines);
		FUZZ_ASSERT(strcmp(st.argv[0], "iptables") == 0 &&
		    strcmp(st.argv[1], "-w") == 0 && strcmp(st.argv[2], "-D") == 0 &&
		    strcmp(st.argv[3], "INPUT") == 0);
		tagged = 0;
		for (i = 4; st.argv[i] != NULL; i++) {
			FUZZ_ASSERT(i < FW_ARGV_MAX);
			if (strcmp(st.argv[i], "--comment") == 0 &&
			    st.argv[i + 1] != NULL &&
			    strncmp(st.argv[i + 1], FW_TAG, strlen(FW_TAG)) == 0)
				tagged = 1;
		}
		FUZZ_ASSERT(tagged);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char store[256], *w[16];
	int n;

	if (text == NULL)
		return 0;
	log_level = LOG_QUIET;
	memcpy(text, data, size);
	text[size] = '\0';
	check_proc(text);
	check_config(text);
	check_stale(text);
	n = fw_split(text, store, sizeof(store), w, 16);
	FUZZ_ASSERT(n >= -1 && n <= 16);
	while (n-- > 0)
		FUZZ_ASSERT(w[n] >= store && w[n] < store + sizeof(store) &&
		    memchr(w[n], '\0', (size_t)(store + sizeof(store) - w[n])) != NULL);
	free(text);
	return 0;
}
