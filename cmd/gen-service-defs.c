/* See COPYING for copyright and license details. */
/*
 * gen-service-defs: turn a service's service.json template into versioned
 * Marathon app definitions at build time (DESIGN.md §5). Fills $tag and
 * every -s name, leaves the other placeholders for marathon-deploy, and
 * writes nothing unless every template checks out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "log.h"
#include "tmpl.h"
#include "util.h"

#define TAG_MAX 128	/* Docker: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */

static const char usage_line[] =
    "gen-service-defs [-q] [-b branch] [-c commit] [-n build] [-o outdir] "
    "[-s name=value]... [-t tag] [dir ...]";

static const char help_text[] =
    "usage: gen-service-defs [-q] [-b branch] [-c commit] [-n build] [-o outdir]\n"
    "                        [-s name=value]... [-t tag] [dir ...]\n"
    "       gen-service-defs [-s name=value]... [-t tag] -\n"
    "\n"
    "Fill $tag (and each -s name) in DIR/service.json and write\n"
    "OUTDIR/DIR/service-BRANCH.json and OUTDIR/DIR/service-TAG.json.\n"
    "TAG is BRANCH-COMMIT-BUILD unless -t is given. With -, filter stdin to stdout.\n"
    "\n"
    "  -b, --branch=BRANCH    branch (else CI_BRANCH, else DRONE_BRANCH)\n"
    "  -c, --commit=COMMIT    commit (else CI_COMMIT, else DRONE_COMMIT_SHA)\n"
    "  -n, --build=NUMBER     build number (else CI_BUILD_NUMBER, else DRONE_BUILD_NUMBER)\n"
    "  -o, --output=OUTDIR    output directory (default service-defs)\n"
    "  -q, --quiet            no warnings\n"
    "  -s, --set=NAME=VALUE   fill $NAME too (repeatable)\n"
    "  -t, --tag=TAG          the image tag, instead of BRANCH-COMMIT-BUILD\n"
    "  -h, --help             this help\n"
    "      --version          print the version\n"
    "\n"
    "Exit status: 0 written, 1 invalid template (nothing written) or write error,\n"
    "2 usage, missing build information or missing service.json.\n";

struct def {
	const char *dir;	/* as given */
	char *subdir;		/* under outdir; "" for "." */
	char *path;		/* dir/service.json */
	char *text;		/* the template */
	size_t len;
	struct tmpl_result res;
};

/* The first set of flag, variable, fallback variable; NULL if none. */
static const char *
setting(const char *flag, const char *var, const char *fallback)
{
	const char *v;

	if (flag != NULL && *flag != '\0')
		return flag;
	if ((v = util_env(var)) != NULL)
		return v;
	return util_env(fallback);
}

static const char *
require(const char *value, const char *what, const char *flag,
    const char *var, const char *fallback)
{
	if (value == NULL)
		log_die(2, "%s not set: use %s, or set %s or %s", what, flag,
		    var, fallback);
	return value;
}

static int
tag_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || (!first && (c == '.' || c == '-'));
}

/*
 * Make s fit Docker's tag grammar, keeping the last keep bytes (the
 * -COMMIT-BUILD suffix) when it has to be cut.
 */
static char *
docker_safe(const char *s, size_t keep)
{
	size_t n = strlen(s), i, head;
	char *out;

	if (n > TAG_MAX) {
		head = keep < TAG_MAX ? TAG_MAX - keep : 0;
		out = emalloc(TAG_MAX + 1);
		memcpy(out, s, head);
		memcpy(out + head, s + n - (TAG_MAX - head), TAG_MAX - head);
		out[TAG_MAX] = '\0';
	} else {
		out = estrdup(s);
	}
	for (i = 0; out[i] != '\0'; i++)
		if (!tag_char(out[i], i == 0))
			out[i] = i == 0 ? '_' : '-';
	return out;
}

static void
warn_changed(const char *what, const char *given, const char *used)
{
	if (strcmp(given, used) != 0)
		log_warn("%s '%s' is not a valid Docker tag: using '%s'", what,
		    given, used);
}

/* dir as a path under outdir: no leading ./, no trailing /, never escaping. */
static char *
subdir_of(const char *dir)
{
	char *s = estrdup(dir), *p;
	size_t n;

	while (strncmp(s, "./", 2) == 0)
		memmove(s, s + 2, strlen(s + 2) + 1);
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	if (strcmp(s, ".") == 0)
		s[0] = '\0';
	if (s[0] == '/')
		log_die(2, "%s: an absolute directory cannot be mirrored under "
		    "the output directory; run from its parent", dir);
	for (p = s; *p != '\0'; p += strcspn(p, "/"), p += *p == '/') {
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			log_die(2, "%s: a directory with '..' cannot be mirrored "
			    "under the output directory; run from its parent", dir);
	}
	return s;
}

static int
mkdirs(const char *path)
{
	char *p = estrdup(path), *s;
	int r = 0;

	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			r = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}

static void
load(struct def *d, const struct tmpl_vars *vars)
{
	char err[512];
	int e;

	e = util_read_file(d->path, UTIL_MAX_BODY, &d->text, &d->len);
	if (e == ENOENT)
		log_die(2, "%s: no such file: each directory needs a service.json",
		    d->path);
	if (e != 0)
		log_die(e == EFBIG ? 1 : 2, "%s: %s", d->path,
		    e == EFBIG ? "larger than 16 MiB" : strerror(e));
	tmpl_render(d->text, d->len, vars, &d->res);
	if (tmpl_check(d->text, d->len, &d->res, d->path, err, sizeof(err)) < 0)
		log_die(1, "%s", err);
}

static int
emit(const char *outdir, const struct def *d, const char *name)
{
	struct buf dir = BUF_INIT, file = BUF_INIT;
	int r = 0;

	buf_printf(&dir, "%s%s%s", outdir, *d->subdir ? "/" : "", d->subdir);
	buf_printf(&file, "%s/service-%s.json", dir.data, name);
	if (mkdirs(dir.data) < 0) {
		log_err("%s: cannot create directory:", dir.data);
		r = -1;
	} else if (util_write_atomic(file.data, d->res.out.data,
	    d->res.out.len) < 0) {
		log_err("%s: cannot write:", file.data);
		r = -1;
	} else {
		puts(file.data);
	}
	buf_free(&dir);
	buf_free(&file);
	return r;
}

static int
filter(const struct tmpl_vars *vars)
{
	struct def d = { "-", NULL, NULL, NULL, 0, TMPL_RESULT_INIT };
	char err[512];
	int e;

	e = util_read_file("-", UTIL_MAX_BODY, &d.text, &d.len);
	if (e != 0)
		log_die(1, "<stdin>: %s", e == EFBIG ? "larger than 16 MiB" :
		    strerror(e));
	tmpl_render(d.text, d.len, vars, &d.res);
	if (tmpl_check(d.text, d.len, &d.res, "<stdin>", err, sizeof(err)) < 0)
		log_die(1, "%s", err);
	fwrite(d.res.out.data, 1, d.res.out.len, stdout);
	tmpl_result_free(&d.res);
	free(d.text);
	return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "commit", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "build", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "set", required_argument, NULL, 's' },
		{ "tag", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bflag = NULL, *cflag = NULL, *nflag = NULL, *tflag = NULL;
	const char *outdir = "service-defs", *branch, *commit, *build;
	struct tmpl_vars vars = TMPL_VARS_INIT;
	char *tag, *branch_name = NULL, *dot[] = { ".", NULL };
	struct def *defs;
	int c, i, n, status = 0;
	size_t suffix = 0;

	util_checkfds();
	log_init("gen-service-defs", 1);

	/* 1. Options. */
	while ((c = getopt_long(argc, argv, "b:c:hn:o:qs:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bflag = optarg;
			break;
		case 'c':
			cflag = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		case 'n':
			nflag = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'q':
			log_level = LOG_QUIET;
			break;
		case 's':
			if (tmpl_vars_assign(&vars, optarg) < 0)
				log_die(2, "-s %s: expected name=value with name "
				    "[A-Za-z_][A-Za-z0-9_]*", optarg);
			break;
		case 't':
			tflag = optarg;
			break;
		case 'V':
			puts("gen-service-defs (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		default:
			log_usage(2, usage_line);
		}
	}
	argc -= optind;
	argv += optind;
	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "-") == 0 && argc > 1)
			log_usage(2, usage_line);
	if (*outdir == '\0')
		log_die(2, "-o: the output directory name is empty");

	/* 2. Build information: flags, then Drone 0.4, then Drone 1.x. */
	if (tflag != NULL && *tflag == '\0')
		log_die(2, "-t: the tag is empty");
	branch = setting(bflag, "CI_BRANCH", "DRONE_BRANCH");
	if (tflag != NULL) {
		tag = docker_safe(tflag, 0);
		warn_changed("tag", tflag, tag);
	} else {
		struct buf t = BUF_INIT;

		require(branch, "branch", "-b", "CI_BRANCH", "DRONE_BRANCH");
		commit = require(setting(cflag, "CI_COMMIT", "DRONE_COMMIT_SHA"),
		    "commit", "-c", "CI_COMMIT", "DRONE_COMMIT_SHA");
		build = require(setting(nflag, "CI_BUILD_NUMBER",
		    "DRONE_BUILD_NUMBER"), "build number", "-n",
		    "CI_BUILD_NUMBER", "DRONE_BUILD_NUMBER");
		buf_printf(&t, "%s-%s-%s", branch, commit, build);
		suffix = strlen(commit) + strlen(build) + 2;
		tag = docker_safe(t.data, suffix);
		warn_changed("tag", t.data, tag);
		buf_free(&t);
	}
	tmpl_vars_set(&vars, "tag", tag);

	/* 3. Filter mode. */
	if (argc == 1 && strcmp(argv[0], "-") == 0) {
		status = filter(&vars);
		tmpl_vars_free(&vars);
		free(tag);
		return status;
	}

	/* 4. Read and check every template before writing anything. */
	require(branch, "branch", "-b", "CI_BRANCH", "DRONE_BRANCH");
	branch_name = docker_safe(branch, 0);
	if (tflag != NULL)	/* else the tag's warning has said it */
		warn_changed("branch", branch, branch_name);
	if (argc == 0) {
		argc = 1;
		argv = dot;
	}
	n = argc;
	defs = ecalloc((size_t)n, sizeof(*defs));
	for (i = 0; i < n; i++) {
		struct buf p = BUF_INIT;

		defs[i].dir = argv[i];
		defs[i].subdir = subdir_of(argv[i]);
		buf_printf(&p, "%s/service.json", *defs[i].subdir ?
		    defs[i].subdir : ".");
		defs[i].path = buf_detach(&p);
		load(&defs[i], &vars);
	}

	/* 5. Write: the branch's file, then the tag's. */
	for (i = 0; i < n; i++) {
		if (emit(outdir, &defs[i], branch_name) < 0)
			status = 1;
		if (strcmp(branch_name, tag) != 0 &&
		    emit(outdir, &defs[i], tag) < 0)
			status = 1;
		tmpl_result_free(&defs[i].res);
		free(defs[i].text);
		free(defs[i].path);
		free(defs[i].subdir);
	}
	free(defs);
	free(branch_name);
	free(tag);
	tmpl_vars_free(&vars);
	if (util_fshut(stdout, "<stdout>") < 0)
		status = 1;
	return status;
}
