/* See COPYING for copyright and license details. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"
#include "util.h"

static void
test_durations(void)
{
	static const struct {
		const char *in;
		long long ms;	/* -1: invalid */
	} cases[] = {
		{ "150ms", 150 }, { "5s", 5000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "7", 7000 }, { "0", 0 }, { "0s", 0 },
		{ "", -1 }, { "s", -1 }, { "-1s", -1 }, { "1.5s", -1 },
		{ "5 s", -1 }, { "5sec", -1 }, { "1d", -1 }, { " 5s", -1 },
		{ "99999999999999999999", -1 }, { "9223372036854775807h", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long ms = -1;
		int r = util_duration(cases[i].in, &ms);

		if (cases[i].ms < 0)
			is_int(r, -1, "duration '%s' is rejected", cases[i].in);
		else
			ok(r == 0 && ms == cases[i].ms, "duration '%s' = %lld ms",
			    cases[i].in, cases[i].ms);
	}
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_files(void)
{
	char dir[] = "/tmp/galley-unit-XXXXXX", path[256], *data = NULL;
	struct stat st;
	size_t len = 0;
	mode_t old;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/out.json", dir);
	old = umask(022);
	is_int(util_write_atomic(path, "hello\n", 6), 0, "atomic write succeeds");
	umask(old);
	is_int(util_read_file(path, 100, &data, &len), 0, "read it back");
	ok(len == 6 && memcmp(data, "hello\n", 6) == 0, "same bytes");
	free(data);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	    "mode follows the umask (0644), not mkstemp's 0600");
	is_int(count_entries(dir), 1, "no temporary file left behind");

	is_int(util_write_atomic(path, "replaced", 8), 0, "overwrite");
	data = NULL;
	util_read_file(path, 100, &data, &len);
	ok(data != NULL && len == 8 && strcmp(data, "replaced") == 0,
	    "overwritten whole");
	free(data);

	is_int(util_read_file(path, 7, &data, &len), EFBIG,
	    "a file over the cap is EFBIG");
	is_int(util_read_file(path, 8, &data, &len), 0, "a file at the cap is read");
	free(data);
	is_int(util_read_file("/nonexistent/x", 8, &data, &len), ENOENT,
	    "a missing file is ENOENT");

	snprintf(path, sizeof(path), "%s/missing-dir/out.json", dir);
	errno = 0;
	ok(util_write_atomic(path, "x", 1) < 0 && errno == ENOENT,
	    "writing into a missing directory fails with ENOENT");
	is_int(count_entries(dir), 1, "and leaves nothing");

	snprintf(path, sizeof(path), "%s/out.json", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_read_fd_large(void)
{
	int p[2];
	char *data = NULL, chunk[1000];
	size_t len = 0, i;

	memset(chunk, 'x', sizeof(chunk));
	if (pipe(p) < 0)
		return;
	if (fork() == 0) {
		close(p[0]);
		for (i = 0; i < 100; i++)
			if (write(p[1], chunk, sizeof(chunk)) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	is_int(util_read_fd(p[0], 200000, &data, &len), 0, "read 100 kB from a pipe");
	is_int(len, 100000, "all of it");
	free(data);
	close(p[0]);
}

static void
test_env(void)
{
	setenv("GALLEY_T_SET", "x", 1);
	setenv("GALLEY_T_EMPTY", "", 1);
	unsetenv("GALLEY_T_UNSET");
	ok(util_env("GALLEY_T_SET") != NULL &&
	    strcmp(util_env("GALLEY_T_SET"), "x") == 0, "util_env: a value");
	ok(util_env("GALLEY_T_EMPTY") == NULL, "util_env: empty is unset");
	ok(util_env("GALLEY_T_UNSET") == NULL, "util_env: unset");
}

static void
test_names(void)
{
	ok(util_is_name("tag", 3), "tag is a name");
	ok(util_is_name("_x9", 3), "_x9 is a name");
	ok(!util_is_name("9x", 2), "9x is not");
	ok(!util_is_name("a-b", 3), "a-b is not");
	ok(!util_is_name("", 0), "empty is not");
	is_str(util_display_name("-"), "<stdin>", "- shows as <stdin>");
	is_str(util_display_name("a.json"), "a.json", "a path shows as itself");
}

static void
test_buf(void)
{
	struct buf b = BUF_INIT;
	char *p;
	int i;

	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	ok(b.len == strlen(b.data), "buf stays NUL-terminated");
	ok(strncmp(b.data, "0,1,2,", 6) == 0 && b.data[b.len - 1] == ',',
	    "buf_printf appends");
	buf_reset(&b);
	is_int(b.len, 0, "buf_reset empties");
	buf_add(&b, "a\0b", 3);
	is_int(b.len, 3, "buf_add keeps NUL bytes");
	p = buf_detach(&b);
	ok(b.data == NULL && p[0] == 'a', "buf_detach hands over the data");
	free(p);
	p = buf_detach(&b);
	is_str(p, "", "detaching an empty buf gives an empty string");
	free(p);
}

static void
test_fshut(void)
{
	FILE *fp = fopen("/dev/full", "w");

	if (fp == NULL) {
		ok(1, "# SKIP no /dev/full");
		return;
	}
	fputs("data", fp);
	if (freopen("/dev/null", "w", stderr) == NULL) {
		fclose(fp);
		return;
	}
	is_int(util_fshut(fp, "/dev/full"), -1, "a write error is reported at close");
}

int
main(void)
{
	long long t0;

	test_durations();
	test_files();
	test_read_fd_large();
	test_env();
	test_names();
	test_buf();
	t0 = util_now_ms();
	util_sleep_ms(30);
	ok(util_now_ms() - t0 >= 30, "util_sleep_ms sleeps");
	test_fshut();
	return done_testing();
}
