#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='gen-service-defs: the table of cases in data/, then the rest'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

# run_clean "NAME=VALUE lines" args...: gen-service-defs in a clean environment.
run_clean() {
	envs=$1
	shift
	IFS='
'
	# shellcheck disable=SC2086 # one variable per line
	set -- $envs gen-service-defs "$@"
	unset IFS
	exec env -i PATH="$PATH" "$@"
}

# Run one case from data/gen-service-defs/NAME (see its README).
run_case() {
	c=$TEST_DATA/gen-service-defs/$1
	rm -rf work && mkdir work
	[ -d "$c/in" ] && cp -R "$c/in/." work/
	(cd work && find . -type f | sort) >before
	set --
	if [ -f "$c/args" ]; then
		while IFS= read -r a || [ -n "$a" ]; do
			set -- "$@" "$(printf '%b' "$a")"
		done <"$c/args"
	fi
	envs=
	[ -f "$c/env" ] && envs=$(cat "$c/env")
	stdin=/dev/null
	[ -f "$c/stdin" ] && stdin=$c/stdin
	status=0
	(cd work && run_clean "$envs" "$@") <"$stdin" >stdout 2>stderr || status=$?
	want=0
	[ -f "$c/expect-status" ] && want=$(cat "$c/expect-status")
	if [ "$status" != "$want" ]; then
		echo "exit status $status, wanted $want"; cat stderr; return 1
	fi
	[ ! -f "$c/expect-stdout" ] || test_cmp "$c/expect-stdout" stdout
	[ ! -f "$c/expect-stderr" ] || test_cmp "$c/expect-stderr" stderr
	(cd work && find . -type f | sort) >after
	if [ -d "$c/expect" ]; then
		(cd "$c/in" 2>/dev/null && find . -type f; cd "$c/expect" && find . -type f) |
			sort >want-files
		test_cmp want-files after
		(cd "$c/expect" && find . -type f) | while read -r f; do
			cmp "$c/expect/$f" "work/$f" || { diff -u "$c/expect/$f" "work/$f"; exit 1; }
		done
	else
		test_cmp before after
	fi
	[ ! -f "$c/values" ] || (cd "$c/expect" && find . -type f -name '*.json') |
	while read -r f; do
		"$PYTHON" -c '
import json, sys, codecs
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for line in open(sys.argv[2], encoding="utf-8"):
    path, want = line.rstrip("\n").split("\t", 1)
    want = codecs.escape_decode(want.encode())[0].decode("utf-8")
    got = doc
    for k in path.split("."):
        got = got[k]
    if str(got) != want:
        sys.exit("%s: %s = %r, wanted %r" % (sys.argv[1], path, got, want))
' "work/$f" "$c/values" || return 1
	done
}

for c in "$TEST_DATA"/gen-service-defs/*/; do
	name=$(basename "$c")
	test_expect_success "case $name" "run_case $name"
done

test_expect_success 'both files of a build are identical and valid JSON' '
	cp "$TEST_DATA/gen-service-defs/article/in/service.json" . &&
	gen-service-defs -b master -c abc -n 1 >out &&
	cmp service-defs/service-master.json service-defs/service-master-abc-1.json &&
	test_grep -v "\$tag" service-defs/service-master.json &&
	test_grep "master-abc-1" service-defs/service-master.json
'

test_expect_success 'output stays byte-identical to the template outside placeholders' '
	printf "{\\r\\n\\t\"a\" :\\t\"\$tag\"  ,\"b\":[ ]\\r\\n}" >service.json &&
	gen-service-defs -q -b b -t T >/dev/null &&
	printf "{\\r\\n\\t\"a\" :\\t\"T\"  ,\"b\":[ ]\\r\\n}" >expect &&
	cmp expect service-defs/service-T.json
'

test_expect_success 'a second run replaces the files atomically' '
	printf "{\"v\": \"\$tag\"}" >service.json &&
	gen-service-defs -b b -t 1 >/dev/null &&
	gen-service-defs -b b -t 1 >/dev/null &&
	ls service-defs >files &&
	printf "service-1.json\nservice-b.json\n" >expect &&
	test_cmp expect files
'

test_expect_success 'an absolute or escaping directory is a usage error' '
	test_expect_code 2 gen-service-defs -b b -t 1 /tmp 2>err &&
	test_grep "absolute directory" err &&
	test_expect_code 2 gen-service-defs -b b -t 1 ../x 2>err &&
	test_grep "with .\\.\\.." err
'

test_expect_success 'unwritable output: exit 1, names the file, nothing half-written' '
	printf "{\"v\": \"\$tag\"}" >service.json &&
	mkdir out && : >out/blocker &&
	test_expect_code 1 gen-service-defs -b b -t 1 -o out/blocker >stdout 2>err &&
	test_grep "out/blocker/service-b.json: cannot write: Not a directory" err &&
	test_line_count = 0 stdout
'

test_expect_success ROOT 'a read-only output directory (read-only mount): exit 1, no file' '
	printf "{\"v\": \"\$tag\"}" >service.json &&
	mkdir ro &&
	test_expect_code 1 unshare -m sh -c "
		mount -t tmpfs -o ro tmpfs ro &&
		gen-service-defs -b b -t 1 -o ro" >stdout 2>err &&
	test_grep "ro/service-b.json: cannot write: Read-only file system" err &&
	test_line_count = 0 stdout &&
	test -z "$(ls -A ro)"
'

test_expect_success !ROOT 'a read-only output directory (mode 555): exit 1, no file' '
	printf "{\"v\": \"\$tag\"}" >service.json &&
	mkdir ro && chmod 555 ro &&
	test_expect_code 1 gen-service-defs -b b -t 1 -o ro 2>err &&
	test_grep "cannot write" err &&
	test -z "$(ls -A ro)"
'

test_expect_success '100000 placeholders: in linear time (it was quadratic: over a minute)' '
	"$PYTHON" -c "import sys; sys.stdout.write(\"{\\\"pad\\\": \\\"\" + \"\$tag\" * 100000 + \"\\\",\\n \\\"x\\\": 1,}\")" >service.json &&
	t0=$(date +%s) &&
	test_expect_code 1 gen-service-defs -b b -t T 2>err &&
	test_grep "service.json:2:9: " err &&
	sed -i "s/,}\$/}/" service.json &&
	gen-service-defs -b b -t T >out &&
	test $(( $(date +%s) - t0 )) -le 10 &&
	test "$(wc -c <service-defs/service-T.json)" = 100020
'

test_expect_success 'a write error on stdout is an error' '
	printf "{}" | test_expect_code 1 gen-service-defs -t 1 - >/dev/full 2>err &&
	test_grep "write <stdout>" err
'

test_expect_success 'usage errors: exit 2 and one usage line' '
	test_expect_code 2 gen-service-defs --bogus 2>err &&
	test_grep "^usage: gen-service-defs \\[-q\\]" err &&
	test_expect_code 2 gen-service-defs -t 1 - dir 2>err &&
	test_grep "^usage:" err &&
	test_expect_code 2 gen-service-defs -t "" - 2>err &&
	test_grep "the tag is empty" err
'

test_expect_success '--help and --version' '
	gen-service-defs --help >out &&
	test_grep "^usage: gen-service-defs" out &&
	test_grep -- "--branch=BRANCH" out &&
	gen-service-defs --version >out &&
	echo "gen-service-defs (galley) $(sed -n "s/^VERSION *= *//p" "$GALLEY_ROOT/Makefile")" >expect &&
	test_cmp expect out
'

test_expect_success 'does not load libcurl or libcjson' '
	readelf -d "$GALLEY_ROOT/bin/gen-service-defs" >dyn &&
	test_grep -v "libcurl" dyn &&
	test_grep -v "libcjson" dyn
'

test_done
