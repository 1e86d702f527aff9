# See COPYING for copyright and license details.
# Sourced by tests/lib.sh, and by scripts that do without it (the
# benchmarks through tests/haproxy-lib.sh).

# test_wait_for SECONDS command...: poll (every 50 ms) until it succeeds.
test_wait_for() {
	t_end=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$t_end" ]; then
			echo "test_wait_for: timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}
