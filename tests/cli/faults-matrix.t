#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='tests/FAULTS.md: every test it names exists, its totals are its rows'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CHECK=$GALLEY_ROOT/tests/helpers/faults_matrix.py

# tree: a copy of the test files and the matrix in ./tree, to break.
tree() {
	mkdir -p tree/tests/cli &&
	cp "$GALLEY_ROOT"/tests/cli/*.t tree/tests/cli/ &&
	cp "$GALLEY_ROOT/tests/FAULTS.md" tree/tests/
}

test_expect_success 'tests/FAULTS.md: each test named exists with that title, the totals match' '
	"$PYTHON" "$CHECK" "$GALLEY_ROOT" >out 2>err &&
	test_line_count = 0 err &&
	test_grep "^Totals: [0-9]* faults injected, [0-9]* survived, [0-9]* lost, [0-9]* pending\\.$" out &&
	grep -F "$(cat out)" "$GALLEY_ROOT/tests/FAULTS.md"
'

test_expect_success 'a title that does not exist, or a missing file: the check fails' '
	tree &&
	sed -i "s/\`Consul hanging at start: 125/\`Consul hanging at the start: 125/" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "no test titled .Consul hanging at the start: 125.* in tests/cli/faults.t" err &&
	tree && rm tree/tests/cli/service-wrapper-watch.t &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "tests/cli/service-wrapper-watch.t does not exist" err
'

test_expect_success 'a title made in a loop matches only its pattern' '
	tree &&
	sed -i "s/\`dockerhost-resolve: a closed stdout is an error, never lost output\`/\`dockerhost resolve: a closed stdout is an error, never lost output\`/" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "no test titled .dockerhost resolve: a closed stdout" err
'

test_expect_success 'totals that do not match the rows: the check fails, naming the right ones' '
	tree &&
	right=$(grep "^Totals: " tree/tests/FAULTS.md) &&
	sed -i "s/^Totals: [0-9]* faults injected/Totals: 1 faults injected/" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep -F "the totals do not match the rows, which give: $right" err &&
	tree &&
	sed -i "0,/ | survived |\$/s// | lost |/" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "the totals do not match the rows, which give: .* 1 lost" err
'

test_expect_success 'a test of faults.t without a row, a bad result: the check fails' '
	tree &&
	printf "test_expect_success %s\\n" "'\''a new fault nobody listed'\'' '\'':'\''" >>tree/tests/cli/faults.t &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "tests/cli/faults.t: test .a new fault nobody listed. has no row" err &&
	tree &&
	sed -i "0,/ | survived |\$/s// | fine |/" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "result .fine. is not survived, lost or pending" err
'

test_expect_success 'a pending row whose test file has arrived: the check asks for the real result' '
	tree &&
	sed -i "s%^\\(| 1 | [^|]* | [^|]* | \\)[^|]*\\(|.*| \\)[^|]* |\$%\\1tests/cli/zz-new.t \\2pending: tests/cli/zz-new.t |%" tree/tests/FAULTS.md &&
	grep "^| 1 | .* | tests/cli/zz-new.t | .* | pending: tests/cli/zz-new.t |\$" tree/tests/FAULTS.md &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep -v "zz-new" err &&
	echo "test_done" >tree/tests/cli/zz-new.t &&
	test_expect_code 1 "$PYTHON" "$CHECK" tree 2>err &&
	test_grep "row 1 (.*): tests/cli/zz-new.t exists now: name its real test and mark the row survived or lost" err
'

test_done
