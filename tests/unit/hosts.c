/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hosts.h"
#include "tap.h"
#include "util.h"

static char *one[] = { "dockerhost", NULL };
static char *two[] = { "dockerhost", "docker.local", NULL };
static char *twice[] = { "dockerhost", "DockerHost", NULL };

static const struct {
	const char *title, *in, *addr;
	char **names;
	const char *want;	/* NULL: unchanged */
} cases[] = {
	{ "empty file", "", "192.0.2.1", one, "192.0.2.1\tdockerhost\n" },
	{ "appended after the rest", "127.0.0.1\tlocalhost\n", "192.0.2.1", one,
	  "127.0.0.1\tlocalhost\n192.0.2.1\tdockerhost\n" },
	{ "no trailing newline: not glued on", "127.0.0.1 localhost",
	  "192.0.2.1", one, "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n" },
	{ "correct line: unchanged", "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n",
	  "192.0.2.1", one, NULL },
	{ "correct line with blanks, a comment, no newline: unchanged",
	  "  192.0.2.1   dockerhost\t# by hand", "192.0.2.1", one, NULL },
	{ "correct line among other names: unchanged",
	  "192.0.2.1 gw dockerhost other\n", "192.0.2.1", one, NULL },
	{ "other case: unchanged", "192.0.2.1 DockerHost\n", "192.0.2.1", one,
	  NULL },
	{ "address written another way: unchanged", "::ffff:0:1 dockerhost\n",
	  "::ffff:0:1", one, NULL },
	{ "stale address: replaced in place",
	  "127.0.0.1 localhost\n10.0.0.1\tdockerhost\n::1 localhost\n",
	  "192.0.2.1", one,
	  "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n::1 localhost\n" },
	{ "stale, other case, comment: replaced",
	  "10.0.0.1 DOCKERHOST # old\n", "192.0.2.1", one,
	  "192.0.2.1\tdockerhost\n" },
	{ "stale last line without newline: replaced", "a b\n10.0.0.1 dockerhost",
	  "192.0.2.1", one, "a b\n192.0.2.1\tdockerhost\n" },
	{ "CRLF line ending kept", "127.0.0.1 localhost\r\n10.0.0.1 dockerhost\r\n",
	  "192.0.2.1", one, "127.0.0.1 localhost\r\n192.0.2.1\tdockerhost\r\n" },
	{ "alias on another line: removed, line kept",
	  "127.0.0.1\tlocalhost dockerhost\n", "192.0.2.1", one,
	  "127.0.0.1\tlocalhost\n192.0.2.1\tdockerhost\n" },
	{ "alias first of several names", "10.0.0.5  dockerhost  web # x\n",
	  "192.0.2.1", one, "10.0.0.5  web # x\n192.0.2.1\tdockerhost\n" },
	{ "alias on the correct address's other line",
	  "192.0.2.1 dockerhost\n127.0.0.1 localhost dockerhost\n", "192.0.2.1",
	  one, "192.0.2.1 dockerhost\n127.0.0.1 localhost\n" },
	{ "a duplicate correct line is dropped",
	  "192.0.2.1 dockerhost\n1.1.1.1 a\n192.0.2.1 dockerhost\n", "192.0.2.1",
	  one, "192.0.2.1 dockerhost\n1.1.1.1 a\n" },
	{ "comments are not entries",
	  "# 10.0.0.1 dockerhost\n127.0.0.1 localhost # dockerhost\n#dockerhost\n",
	  "192.0.2.1", one,
	  "# 10.0.0.1 dockerhost\n127.0.0.1 localhost # dockerhost\n#dockerhost\n"
	  "192.0.2.1\tdockerhost\n" },
	{ "a longer name is another name", "10.0.0.1 dockerhost2 xdockerhost\n",
	  "192.0.2.1", one,
	  "10.0.0.1 dockerhost2 xdockerhost\n192.0.2.1\tdockerhost\n" },
	{ "several names: one new line", "127.0.0.1 localhost\n", "192.0.2.1", two,
	  "127.0.0.1 localhost\n192.0.2.1\tdockerhost docker.local\n" },
	{ "several names: only the missing one added",
	  "192.0.2.1 dockerhost\n", "192.0.2.1", two,
	  "192.0.2.1 dockerhost\n192.0.2.1\tdocker.local\n" },
	{ "several names on two lines: unchanged",
	  "192.0.2.1 docker.local\n192.0.2.1 dockerhost\n", "192.0.2.1", two,
	  NULL },
	{ "several names, both stale on one line",
	  "10.0.0.1 dockerhost docker.local\n", "192.0.2.1", two,
	  "192.0.2.1\tdockerhost docker.local\n" },
	{ "several names, stale on different lines",
	  "10.0.0.1 dockerhost\n10.0.0.2 docker.local\n", "192.0.2.1", two,
	  "192.0.2.1\tdockerhost docker.local\n" },
	{ "a name given twice is written once", "", "192.0.2.1", twice,
	  "192.0.2.1\tdockerhost\n" },
	{ "IPv6 address", "::1 localhost\n", "fd00::1", one,
	  "::1 localhost\nfd00::1\tdockerhost\n" },
	{ "blank lines and odd lines kept",
	  "\n\n   \n127.0.0.1\n10.0.0.1 dockerhost\n\n", "192.0.2.1", one,
	  "\n\n   \n127.0.0.1\n192.0.2.1\tdockerhost\n\n" },
	{ "a name in the address column is not a name", "dockerhost 1.2.3.4\n",
	  "192.0.2.1", one, "dockerhost 1.2.3.4\n192.0.2.1\tdockerhost\n" },
};

static size_t
count(char **names)
{
	size_t n = 0;

	while (names[n] != NULL)
		n++;
	return n;
}

static void
test_edit(void)
{
	struct buf out = BUF_INIT, again = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;
		size_t n = count(cases[i].names);
		int r = hosts_edit(in, strlen(in), cases[i].addr, cases[i].names,
		    n, &out);

		if (cases[i].want == NULL) {
			ok(r == 0 && out.len == 0, "%s", cases[i].title);
			continue;
		}
		is_int(r, 1, "%s: changed", cases[i].title);
		is_str(out.data, cases[i].want, "%s", cases[i].title);
		/* The result is a fixed point: a second run changes nothing. */
		is_int(hosts_edit(out.data, out.len, cases[i].addr,
		    cases[i].names, n, &again), 0, "%s: then stable",
		    cases[i].title);
	}
	buf_free(&out);
	buf_free(&again);
}

static void
test_checks(void)
{
	char a[INET6_ADDRSTRLEN];

	ok(hosts_canon_addr("192.0.2.1", a) == 0 && strcmp(a, "192.0.2.1") == 0,
	    "IPv4 address");
	ok(hosts_canon_addr("FD00:0::1", a) == 0 && strcmp(a, "fd00::1") == 0,
	    "IPv6 address, canonical form");
	is_int(hosts_canon_addr("192.0.2", a), -1, "short IPv4 rejected");
	is_int(hosts_canon_addr("192.0.2.01", a), -1, "leading zero rejected");
	is_int(hosts_canon_addr(" 192.0.2.1", a), -1, "blank rejected");
	is_int(hosts_canon_addr("192.0.2.1\n", a), -1, "newline rejected");
	is_int(hosts_canon_addr("fe80::1%eth0", a), -1, "zone index rejected");
	is_int(hosts_canon_addr("dockerhost", a), -1, "a name rejected");
	is_int(hosts_canon_addr("", a), -1, "empty rejected");
	ok(hosts_name_ok("dockerhost") && hosts_name_ok("docker-host.local") &&
	    hosts_name_ok("my_host") && hosts_name_ok("1up"), "good names");
	ok(!hosts_name_ok("") && !hosts_name_ok("a b") && !hosts_name_ok("a#b") &&
	    !hosts_name_ok("a\nb") && !hosts_name_ok("-x") && !hosts_name_ok(".x") &&
	    !hosts_name_ok("a\tb"), "bad names");
}

static int
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n = write(fd, text, strlen(text));
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	/* An old mtime: any write at all would move it. */
	futimens(fd, old);
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int
is_file(const char *path, const char *want)
{
	char *data = NULL;
	size_t len;
	int same;

	if (util_read_file(path, 1 << 20, &data, &len) != 0)
		return 0;
	same = len == strlen(want) && memcmp(data, want, len) == 0;
	if (!same)
		printf("#   got: '%s'\n", data);
	free(data);
	return same;
}

static void
test_update(void)
{
	char dir[] = "/tmp/galley-hosts-XXXXXX", path[256], fifo[256];
	struct stat before, after;
	int fd, r;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/hosts", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);

	put(path, "127.0.0.1 localhost\n192.0.2.1 dockerhost\n");
	stat(path, &before);
	is_int(hosts_update(path, "192.0.2.1", one, 1, 1000), 0,
	    "a correct file: unchanged");
	stat(path, &after);
	ok(after.st_mtime == before.st_mtime && after.st_size == before.st_size,
	    "not written (mtime kept)");

	put(path, "127.0.0.1 localhost\n");
	stat(path, &before);
	is_int(hosts_update(path, "192.0.2.1", one, 1, 1000), 1, "an append");
	stat(path, &after);
	ok(is_file(path, "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n"),
	    "is written at the end");
	ok(after.st_ino == before.st_ino && after.st_mtime != before.st_mtime,
	    "in place (same inode)");
	ok((after.st_mode & 07777) == 0644, "mode kept");

	put(path, "10.0.0.1 dockerhost\n127.0.0.1 localhost a-long-name-here\n");
	is_int(hosts_update(path, "192.0.2.1", one, 1, 1000), 1, "a stale line");
	ok(is_file(path, "192.0.2.1\tdockerhost\n"
	    "127.0.0.1 localhost a-long-name-here\n"), "replaced, same length");

	put(path, "127.0.0.1 localhost a-long-alias dockerhost\n"
	    "192.0.2.1 dockerhost\n");
	is_int(hosts_update(path, "192.0.2.1", one, 1, 1000), 1, "a shrink");
	ok(is_file(path, "127.0.0.1 localhost a-long-alias\n"
	    "192.0.2.1 dockerhost\n"), "written over and truncated");

	/* A lock somebody else holds. */
	put(path, "");
	fd = open(path, O_RDONLY);
	flock(fd, LOCK_EX);
	errno = 0;
	r = hosts_update(path, "192.0.2.1", one, 1, 100);
	ok(r == -1 && errno == EWOULDBLOCK, "a held lock: EWOULDBLOCK");
	ok(is_file(path, ""), "and nothing written");
	close(fd);
	is_int(hosts_update(path, "192.0.2.1", one, 1, 100), 1,
	    "taken once released");

	errno = 0;
	ok(hosts_update(dir, "192.0.2.1", one, 1, 100) == -1 && errno == EISDIR,
	    "a directory: EISDIR");
	mkfifo(fifo, 0644);
	errno = 0;
	ok(hosts_update(fifo, "192.0.2.1", one, 1, 100) == -1 && errno == EINVAL,
	    "a FIFO: EINVAL, without blocking");
	unlink(fifo);
	unlink(path);
	errno = 0;
	ok(hosts_update(path, "192.0.2.1", one, 1, 100) == -1 && errno == ENOENT,
	    "a missing file is not created");
	ok(access(path, F_OK) < 0, "really not");

	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ok(ftruncate(fd, HOSTS_MAX_FILE + 1) == 0, "a huge file");
	close(fd);
	errno = 0;
	ok(hosts_update(path, "192.0.2.1", one, 1, 100) == -1 && errno == EFBIG,
	    "is refused: EFBIG");

	/* Read-only for us (mode 444 stops anyone but root). */
	if (geteuid() != 0) {
		put(path, "192.0.2.1 dockerhost\n");
		chmod(path, 0444);
		is_int(hosts_update(path, "192.0.2.1", one, 1, 100), 0,
		    "read-only but already right: fine");
		errno = 0;
		ok(hosts_update(path, "192.0.2.9", one, 1, 100) == -1 &&
		    errno == EACCES, "read-only and wrong: EACCES");
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_edit();
	test_checks();
	test_update();
	return done_testing();
}
