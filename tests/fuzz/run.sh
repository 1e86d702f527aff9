#!/bin/sh
# See COPYING for copyright and license details.
# tests/fuzz/run.sh TARGET...: run each built fuzz target (build/fuzz/NAME)
# under libFuzzer for $FUZZ_SECONDS seconds from its committed corpus, and
# write tests/fuzz/RESULTS.md: executions, speed, corpus and crashes.
# Run by `make fuzz`; exits 1 when any target crashed.
set -eu
secs=${FUZZ_SECONDS:-60}
here=tests/fuzz
status=0
rows=
for t in "$@"; do
	out=$here/out/$t
	rm -rf "$out"
	mkdir -p "$out/corpus" "$out/crashes"
	echo "fuzz: $t for ${secs}s"
	set +e
	"build/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/crashes/" "$out/corpus" "$here/corpus/$t" \
		>"$out/log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -n 1)
	units=$(find "$out/corpus" -type f | wc -l | tr -d ' ')
	seeds=$(find "$here/corpus/$t" -type f | wc -l | tr -d ' ')
	crashes=$(find "$out/crashes" -type f | wc -l | tr -d ' ')
	if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
		status=1
		echo "fuzz: $t: crashed (exit $rc), inputs in $out/crashes:"
		grep -E 'ERROR|invariant|SUMMARY' "$out/log" | head -n 5
	fi
	rows="$rows| $t | $secs | ${execs:-?} | ${speed:-?} | $seeds | $units | $crashes |
"
done
{
	echo "# Fuzzing"
	echo
	echo "Written by \`make fuzz\` (FUZZ_SECONDS=$secs) on $(date -u +%Y-%m-%d)," \
		"clang $(clang --version | sed -n 's/.*version \([0-9.]*\).*/\1/p;q')," \
		"libFuzzer with ASan+UBSan, $(nproc) cores."
	echo "Crashes found are kept as regression inputs in tests/fuzz/crashes/ and"
	echo "replayed by \`make check\` (tests/fuzz/replay.t)."
	echo
	echo "| target | seconds | executions | exec/s | seeds | corpus after | crashes |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$rows"
} >"$here/RESULTS.md"
cat "$here/RESULTS.md"
exit "$status"
