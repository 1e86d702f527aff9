#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='conventions every tool shares (DESIGN.md §3)'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

VERSION=$(sed -n 's/^VERSION *= *//p' "$GALLEY_ROOT/Makefile")

# The exit status of a usage error: the wrappers use 125 (DESIGN.md §3).
usage_status() {
	case $1 in
	service-wrapper|dockerhost-resolve) echo 125 ;;
	*) echo 2 ;;
	esac
}

for bin in "$GALLEY_ROOT"/bin/*; do
	tool=${bin##*/}
	test_expect_success "$tool: --help on stdout, exit 0" "
		$tool --help >out 2>err &&
		test_grep '^usage: $tool' out &&
		test_line_count = 0 err
	"
	test_expect_success "$tool: --version" "
		$tool --version >out &&
		echo '$tool (galley) $VERSION' >expect &&
		test_cmp expect out
	"
	test_expect_success "$tool: a closed stdout is an error, never lost output" "
		test_must_fail $tool --version >&- 2>err &&
		test_grep '^$tool: write <stdout>: Bad file descriptor' err
	"
	test_expect_success "$tool: a bad option: what was wrong, then one usage line" "
		test_expect_code $(usage_status "$tool") $tool --no-such-option >out 2>err &&
		test_line_count = 0 out &&
		test_line_count = 2 err &&
		test_grep '^$tool: unrecognized option .--no-such-option.' err &&
		tail -n 1 err | grep '^usage: $tool '
	"
	test_expect_success "$tool: the man page lints and its SYNOPSIS is the usage line" "
		test -f '$GALLEY_ROOT/man/$tool.1' &&
		mandoc -Tlint -Wwarning '$GALLEY_ROOT/man/$tool.1' &&
		mandoc -Tascii '$GALLEY_ROOT/man/$tool.1' | col -bx |
			sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;\$d' |
			tr -s ' \\n' '  ' | sed 's/^ //' >synopsis &&
		test_expect_code $(usage_status "$tool") $tool --no-such-option 2>err;
		sed -n 's/^usage: //p' err | tr -s ' ' >usage &&
		u=\$(cat usage) && s=\$(cat synopsis) &&
		case \"\$s\" in
		\"\$u\"*) ;;
		*) echo \"usage:    \$u\"; echo \"synopsis: \$s\"; false ;;
		esac
	"
	test_expect_success "$tool: --help lists every long option of the man page" "
		$tool --help >help &&
		grep -o -- '^\\.It Fl -[a-z-]*' '$GALLEY_ROOT/man/$tool.1' |
			sed 's/^\\.It Fl -//' | sort -u >man-opts &&
		while read -r o; do
			grep -q -- \"--\$o\" help || { echo \"--\$o missing from --help\"; exit 1; }
		done <man-opts
	"
done

test_done
