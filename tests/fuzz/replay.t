#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='every fuzz seed and every crash ever found, replayed'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

fuzz=$GALLEY_ROOT/tests/fuzz
for r in "$fuzz"/*.replay; do
	t=$(basename "$r" .replay)
	test_expect_success "$t: the corpus and the crashes replay cleanly" "
		set -- '$fuzz/corpus/$t' &&
		if [ -d '$fuzz/crashes/$t' ]; then set -- \"\$@\" '$fuzz/crashes/$t'; fi &&
		'$r' \"\$@\" >out 2>err &&
		test_grep '^[1-9][0-9]* inputs\$' out
	"
done

test_done
