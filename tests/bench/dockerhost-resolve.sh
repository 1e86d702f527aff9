#!/bin/sh
# shellcheck disable=SC2016 # sh -c scripts expand in the inner shell
# See COPYING for copyright and license details.
#
# tests/bench/dockerhost-resolve.sh: dockerhost-resolve against the
# article's shell ENTRYPOINT (tests/bench/dockerhost-resolve-shell.sh:
# ip route | grep | awk >> /etc/hosts; exec "$@"). Measures the time from
# start to the command's exec: RUNS runs of each, exec'ing /bin/true on a
# scratch copy of Docker's default hosts file (reset before every run, so
# both have to write), minus the same loop running /bin/true alone; and
# the tool's time when the file is already right (a container restart).
# Then runs both through the cases that break the shell version and
# tabulates what each leaves behind. As root everything runs in a network
# namespace of its own (a veth pair, addresses in 192.0.2.0/24, no
# traffic); otherwise timing uses the current one and the cases are
# skipped. Writes tests/bench/dockerhost-resolve.md.
# Run: make bench BENCH=dockerhost-resolve (RUNS=N, ROUNDS=N to change the
# default 300 runs x 5 rounds; the median round is reported).
set -eu

ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-5}
DHR=$ROOT/bin/dockerhost-resolve
SHELL_VERSION=$ROOT/tests/bench/dockerhost-resolve-shell.sh
OUT=$ROOT/tests/bench/dockerhost-resolve.md
NS=galley-dhr-bench-$$

[ -x "$DHR" ] || { echo "bench: build first (make)" >&2; exit 1; }
# As root, in a mount namespace of its own: the mounts below vanish with it.
if [ "$(id -u)" = 0 ] && [ -z "${DHR_BENCH_UNSHARED:-}" ]; then
	DHR_BENCH_UNSHARED=1 exec unshare -m sh "$0" "$@"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dockerhost-resolve.XXXXXX")
netns=
cleanup() {
	[ -z "$netns" ] || ip netns delete "$NS" 2>/dev/null || :
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Docker's default /etc/hosts for a container.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n172.17.0.5\t3f4e5d6c7b8a\n' >"$work/fresh"

# in_ns COMMAND...: run in the benchmark's namespace (or here, not root).
in_ns() {
	if [ -n "$netns" ]; then ip netns exec "$NS" "$@"; else "$@"; fi
}

# routes SPEC: replace the namespace's default routes ("via A metric M",
# ";"-separated; "dev" for one without a gateway; empty for none).
routes() {
	ip netns exec "$NS" sh -c 'while ip route del default 2>/dev/null; do :; done'
	echo "$1" | tr ';' '\n' | while read -r r; do
		[ -z "$r" ] || ip netns exec "$NS" sh -c "ip route add default $r"
	done
}

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
	ip netns add "$NS"
	netns=1
	ip netns exec "$NS" sh -c '
		sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 &&
		ip link add dhr0 type veth peer name dhr1 &&
		ip addr add 192.0.2.2/24 dev dhr0 &&
		ip link set dhr0 up && ip link set dhr1 up'
	routes "via 192.0.2.1 dev dhr0"
	where="a network namespace of its own (one default route via 192.0.2.1)"
else
	where="the current network namespace (not root: no namespace)"
fi

# loop KIND RESET: RUNS runs, printing the nanoseconds they took. RESET=1
# puts the fresh file back first (with a builtin, no fork).
loop() {
	in_ns sh -c '
		kind=$1 reset=$2 runs=$3 dhr=$4 shv=$5 h=$6
		fresh=$(cat "$h.fresh"; echo x); fresh=${fresh%x}
		HOSTS_FILE=$h; export HOSTS_FILE
		i=0; t0=$(date +%s%N)
		while [ $i -lt "$runs" ]; do
			[ "$reset" = 0 ] || printf "%s" "$fresh" >"$h"
			case $kind in
			true) /bin/true ;;
			tool) "$dhr" -f "$h" -- /bin/true ;;
			shell) /bin/sh "$shv" /bin/true ;;
			esac
			i=$((i + 1))
		done
		echo $(( $(date +%s%N) - t0 ))' sh "$1" "$2" "$RUNS" "$DHR" \
		"$SHELL_VERSION" "$work/h"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cp "$work/fresh" "$work/h.fresh"
: >"$work/t.true"; : >"$work/t.tool"; : >"$work/t.shell"; : >"$work/t.again"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	# Interleaved, so that load from elsewhere hits all alike.
	loop true 1 >>"$work/t.true"
	loop tool 1 >>"$work/t.tool"
	loop shell 1 >>"$work/t.shell"
	loop true 0 >>"$work/t.true0"
	loop tool 0 >>"$work/t.again"
	r=$((r + 1))
done
base=$(median <"$work/t.true")
base0=$(median <"$work/t.true0")
ms() { # ms TOTAL BASE: per-run milliseconds of TOTAL over BASE
	awk -v t="$1" -v b="$2" -v n="$RUNS" 'BEGIN { printf "%.2f", (t - b) / n / 1e6 }'
}
tool_ms=$(ms "$(median <"$work/t.tool")" "$base")
shell_ms=$(ms "$(median <"$work/t.shell")" "$base")
again_ms=$(ms "$(median <"$work/t.again")" "$base0")
ratio=$(awk -v a="$shell_ms" -v b="$tool_ms" 'BEGIN { printf "%.1f", a / b }')
ratio_again=$(awk -v a="$shell_ms" -v b="$again_ms" 'BEGIN { printf "%.1f", a / b }')
echo "start to exec, per run: dockerhost-resolve $tool_ms ms (file right already: $again_ms ms), shell $shell_ms ms: ${ratio}x"

# --- what each leaves behind ---

# dh FILE: the file's dockerhost lines, as one table cell.
dh() {
	n=$(grep -c dockerhost "$1" || :)
	[ "$n" != 0 ] || { echo "no line"; return; }
	grep dockerhost "$1" | awk -v n="$n" '
		{ gsub(/\t/, " "); s = s (NR > 1 ? " / " : "") "`" $0 "`" }
		END { print (n > 1 ? n " lines: " : "") s }'
}

# run KIND CASE: one run on $work/c.hosts, command: report DOCKERHOST.
# Prints "status|stderr|DOCKERHOST seen".
run() {
	set +e
	case $1 in
	tool) in_ns env PATH="${CASE_PATH:-$PATH}" "$DHR" -f "$work/c.hosts" -- \
		/bin/sh -c 'echo "${DOCKERHOST:-unset}"' >"$work/c.out" 2>"$work/c.err" ;;
	shell) in_ns env PATH="${CASE_PATH:-$PATH}" HOSTS_FILE="$work/c.hosts" \
		/bin/sh "$SHELL_VERSION" /bin/sh -c 'echo "${DOCKERHOST:-unset}"' \
		>"$work/c.out" 2>"$work/c.err" ;;
	esac
	st=$?
	set -e
	err=$(head -n 1 "$work/c.err" | sed "s|$work/||g; s|$ROOT/||g; s/|/\\\\|/g")
	printf '%s|%s|%s\n' "$st" "$err" "$(cat "$work/c.out")"
}

# row TITLE: both tools on the case set up in $work/c.hosts (a copy of
# $work/c.start for each) and the namespace's routes; RERUN=1 runs twice.
row() {
	for k in shell tool; do
		[ -n "${NOCOPY:-}" ] || cp "$work/c.start" "$work/c.hosts"
		res=$(run "$k")
		[ "${RERUN:-0}" = 0 ] || res=$(run "$k")
		st=${res%%|*}; rest=${res#*|}; err=${rest%|*}; seen=${rest##*|}
		cell="exit $st; $(dh "$work/c.hosts")"
		[ -z "$err" ] || cell="$cell; says \`$err\`"
		if [ "$seen" = unset ]; then
			[ "$st" != 0 ] || cell="$cell; no \$DOCKERHOST"
		elif [ -n "$seen" ]; then
			cell="$cell; \$DOCKERHOST=$seen"
		fi
		eval "cell_$k=\$cell"
	done
	# shellcheck disable=SC2154 # set by the eval above
	printf '| %s | %s | %s |\n' "$1" "$cell_shell" "$cell_tool" >>"$work/cases"
}

: >"$work/cases"
if [ -n "$netns" ]; then
	cp "$work/fresh" "$work/c.start"
	row "one default route (the normal case)"
	RERUN=1 row "run twice on the same file (a restart that keeps it)"
	printf '127.0.0.1 localhost' >"$work/c.start"
	row "hosts file without a final newline"
	cp "$work/fresh" "$work/c.start"
	routes "via 192.0.2.1 dev dhr0 metric 100;via 192.0.2.9 dev dhr0 metric 50"
	row "two default routes, metrics 100 and 50"
	routes "dev dhr0"
	row "a default route without a gateway"
	routes ""
	row "no default route (--net=none)"
	routes "via 192.0.2.1 dev dhr0"
	mkdir "$work/noip"
	for p in sh grep awk env; do ln -s "$(command -v "$p")" "$work/noip/$p"; done
	CASE_PATH=$work/noip row "no ip(8) in the image"
	# A read-only bind mount (docker run --read-only), in this script's
	# own mount namespace.
	cp "$work/fresh" "$work/c.start"
	cp "$work/fresh" "$work/c.hosts"
	mount --bind "$work/c.hosts" "$work/c.hosts"
	mount -o remount,ro,bind "$work/c.hosts"
	NOCOPY=1 row "read-only /etc/hosts (\`--read-only\`)"
	umount "$work/c.hosts"
fi

{
	echo "## dockerhost-resolve"
	echo
	echo "Time from start to the command's exec, in $where: each tool runs"
	echo "\`-- /bin/true\` $RUNS times on a scratch copy of Docker's default"
	echo "/etc/hosts, reset before each run so that both write; the same loop"
	echo "running /bin/true alone is subtracted. Median of $ROUNDS rounds,"
	echo "$(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo
	echo "| | per run | vs shell |"
	echo "|---|---|---|"
	echo "| shell (\`ip route \\| grep \\| awk >> /etc/hosts; exec\`) | $shell_ms ms | 1 |"
	echo "| dockerhost-resolve, file to update | $tool_ms ms | ${ratio}x faster |"
	echo "| dockerhost-resolve, file already right (no write) | $again_ms ms | ${ratio_again}x faster |"
	echo
	if [ -s "$work/cases" ]; then
		echo "What each leaves in the hosts file (the command prints \$DOCKERHOST):"
		echo
		echo "| case | shell version | dockerhost-resolve |"
		echo "|---|---|---|"
		cat "$work/cases"
		echo
	fi
	echo "Reproduce: \`make bench BENCH=dockerhost-resolve\` (as root)."
} >"$OUT"
cat "$OUT"
echo "bench: wrote $OUT"
