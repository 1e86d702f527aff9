#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='dockerhost-resolve: the table of cases in data/, then hosts files, exec, namespaces'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

unset DOCKERHOST_KEEP_GOING DOCKERHOST_ROUTE_FILE
DHR=$GALLEY_ROOT/bin/dockerhost-resolve
command -v strace >/dev/null 2>&1 && test_set_prereq STRACE
[ -x "$GALLEY_ROOT/bin/service-wrapper" ] && test_set_prereq SERVICE_WRAPPER

# run_clean "NAME=VALUE lines" args...: dockerhost-resolve in a clean environment.
run_clean() {
	envs=$1
	shift
	IFS='
'
	# shellcheck disable=SC2086 # one variable per line
	set -- $envs dockerhost-resolve "$@"
	unset IFS
	exec env -i PATH="$PATH" "$@"
}

# What shows a write: inode, mtime and ctime, to the nanosecond.
stamp() {
	stat -c '%i %y %z' "$1"
}

# Run one case from data/dockerhost-resolve/NAME (see its README).
run_case() {
	c=$TEST_DATA/dockerhost-resolve/$1
	rm -rf work && mkdir work
	if [ -f "$c/hosts" ]; then
		cp "$c/hosts" work/hosts
		touch -d @1000000000 work/hosts
		stamp work/hosts >before
	fi
	[ ! -f "$c/route" ] || cp "$c/route" work/route
	set -- -f hosts
	if [ -f "$c/args" ]; then
		while IFS= read -r a || [ -n "$a" ]; do
			set -- "$@" "$(printf '%b' "$a")"
		done <"$c/args"
	fi
	envs=DOCKERHOST_ROUTE_FILE=route
	[ ! -f "$c/env" ] || envs="$envs
$(cat "$c/env")"
	status=0
	(cd work && run_clean "$envs" "$@") </dev/null >stdout 2>stderr || status=$?
	want=0
	[ ! -f "$c/expect-status" ] || want=$(cat "$c/expect-status")
	if [ "$status" != "$want" ]; then
		echo "exit status $status, wanted $want"; cat stderr; return 1
	fi
	if [ -f "$c/expect-stdout" ]; then test_cmp "$c/expect-stdout" stdout
	else test_cmp /dev/null stdout; fi
	if [ -f "$c/expect-stderr" ]; then test_cmp "$c/expect-stderr" stderr
	else test_cmp /dev/null stderr; fi
	if [ -f "$c/expect-hosts" ]; then
		cmp "$c/expect-hosts" work/hosts ||
			{ diff -u "$c/expect-hosts" work/hosts; return 1; }
		[ "$(stat -c %i work/hosts)" = "$(cut -d' ' -f1 before)" ] ||
			{ echo "hosts was replaced, not written in place"; return 1; }
	elif [ -f "$c/hosts" ]; then
		cmp "$c/hosts" work/hosts || { diff -u "$c/hosts" work/hosts; return 1; }
		stamp work/hosts >after
		test_cmp before after
	else
		[ ! -e work/hosts ] || { echo "hosts was created"; return 1; }
	fi
}

for c in "$TEST_DATA"/dockerhost-resolve/*/; do
	name=$(basename "$c")
	test_expect_success "case $name" "run_case $name"
done

# --- the hosts file ---

test_expect_success 'a second run: byte-identical, not written (inode, mtime, ctime)' '
	printf "127.0.0.1 localhost" >hosts &&
	dockerhost-resolve -a 192.0.2.1 -f hosts >/dev/null &&
	cp hosts first &&
	touch -d @1000000000 hosts && stamp hosts >before &&
	dockerhost-resolve -a 192.0.2.1 -f hosts >/dev/null &&
	dockerhost-resolve -a 192.0.2.1 -f hosts -- true &&
	cmp first hosts && stamp hosts >after && test_cmp before after &&
	printf "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n" >expect &&
	test_cmp expect hosts
'

test_expect_success STRACE,!COVERAGE 'no write system call when the file is right; pwrite, growing first, never rename, when not' '
	printf "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n" >hosts &&
	strace -f -s 256 -o trace -e trace=openat,write,pwrite64,ftruncate,rename,renameat,renameat2,unlink,unlinkat \
		"$DHR" -a 192.0.2.1 -f hosts -- true &&
	test_grep "openat(.*\"hosts\", O_RDWR|O_NOCTTY|O_CLOEXEC) = 3" trace &&
	test_grep -v -E "write|ftruncate|rename|unlink" trace &&
	printf "10.0.0.1 dockerhost\n127.0.0.1 localhost\n" >hosts &&
	strace -f -s 256 -o trace -e trace=openat,write,pwrite64,ftruncate,rename,renameat,renameat2,unlink,unlinkat \
		"$DHR" -a 192.0.2.10 -f hosts -- true &&
	# It grows first (the 2 bytes past the old end), then overwrites.
	grep pwrite64 trace | sed "s/^[0-9]* *//" >calls &&
	cat >expect <<-\EOF &&
	pwrite64(3, "t\n", 2, 40)         = 2
	pwrite64(3, "192.0.2.10\tdockerhost\n127.0.0.1 localhos", 40, 0) = 40
	EOF
	test_cmp expect calls &&
	test_grep -v -E "O_TRUNC|ftruncate|rename|unlink" trace &&
	printf "127.0.0.1 localhost an-alias dockerhost\n192.0.2.1 dockerhost\n" >hosts &&
	strace -s 256 -o trace -e trace=pwrite64,ftruncate \
		"$DHR" -a 192.0.2.1 -f hosts -- true &&
	sed -n "s/(.*//p" trace >calls &&
	printf "pwrite64\nftruncate\n" >expect && test_cmp expect calls &&
	printf "127.0.0.1 localhost an-alias\n192.0.2.1 dockerhost\n" >expect &&
	test_cmp expect hosts
'

test_expect_success 'an append is one write at the old end, owner and mode kept' '
	printf "127.0.0.1 localhost\n" >hosts && chmod 640 hosts &&
	ino=$(stat -c %i hosts) &&
	dockerhost-resolve -a 192.0.2.1 -f hosts >/dev/null &&
	[ "$(stat -c "%i %a" hosts)" = "$ino 640" ]
'

test_expect_success 'concurrent runs lose nothing (flock)' '
	printf "127.0.0.1 localhost\n" >hosts &&
	pids= && i=0 &&
	while [ $i -lt 16 ]; do
		dockerhost-resolve -a 192.0.2.$i -f hosts -n host$i >/dev/null &
		pids="$pids $!"; i=$((i + 1))
	done &&
	for p in $pids; do wait "$p"; done &&
	test_line_count = 17 hosts &&
	i=0 && while [ $i -lt 16 ]; do
		test_grep -x "192.0.2.$i	host$i" hosts; i=$((i + 1))
	done
'

test_expect_success 'waits for a lock someone else holds, then writes' '
	: >hosts &&
	{ (exec 9<hosts && flock 9 && exec sleep 30) & } &&
	holder=$! &&
	test_when_finished "kill $holder 2>/dev/null" &&
	test_wait_for 10 test_expect_code 1 flock -n hosts true &&
	{ dockerhost-resolve -a 192.0.2.1 -f hosts >out 2>err & } &&
	tool=$! &&
	sleep 0.3 && kill -0 $tool && test_line_count = 0 hosts &&
	kill $holder && wait $tool &&
	test_grep -x "192.0.2.1	dockerhost" hosts
'

test_expect_success 'the hosts fd is not passed to the command' '
	: >hosts &&
	dockerhost-resolve -a 192.0.2.1 -f hosts -- sh -c "ls -l /proc/\$\$/fd" >fds &&
	test_grep -v hosts fds && test_grep " 0 -> " fds
'

test_expect_success 'a file over 1 MiB is refused' '
	head -c 1048577 /dev/zero | tr "\\0" "#" >hosts &&
	test_expect_code 1 dockerhost-resolve -a 192.0.2.1 -f hosts 2>err &&
	test_grep "hosts: cannot update: larger than 1 MiB" err
'

test_expect_success ROOT 'a bind-mounted hosts file, where rename fails: updated in place' '
	printf "127.0.0.1 localhost\n10.0.0.1 dockerhost\n" >real &&
	: >target && echo new >other &&
	unshare -m sh -c "
		mount --bind real target &&
		if mv other target 2>mv-err; then echo mv worked; exit 1; fi &&
		grep -q \"Device or resource busy\" mv-err &&
		dockerhost-resolve -a 192.0.2.1 -f target >out &&
		dockerhost-resolve -a 192.0.2.1 -f target -n consul -- true &&
		cat target >seen" &&
	printf "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n192.0.2.1\tconsul\n" >expect &&
	test_cmp expect seen &&
	test_cmp expect real &&
	test_line_count = 0 target
'

test_expect_success ROOT 'a read-only hosts file: 1, or 125 with a command; -k runs it' '
	printf "127.0.0.1 localhost\n" >hosts && cp hosts orig &&
	unshare -m sh -c "
		mount --bind hosts hosts && mount -o remount,ro,bind hosts &&
		{ dockerhost-resolve -a 192.0.2.1 -f hosts >out1 2>err1; echo \$? >st1; } &&
		{ dockerhost-resolve -a 192.0.2.1 -f hosts -- sh -c \"echo ran\" >out2 2>err2; echo \$? >st2; } &&
		{ dockerhost-resolve -k -a 192.0.2.1 -f hosts -- sh -c \"echo ran \\\$DOCKERHOST\" >out3 2>err3; echo \$? >st3; }" &&
	echo 1 >expect && test_cmp expect st1 && test_line_count = 0 out1 &&
	echo 125 >expect && test_cmp expect st2 && test_line_count = 0 out2 &&
	echo 0 >expect && test_cmp expect st3 && echo "ran 192.0.2.1" >expect && test_cmp expect out3 &&
	echo "dockerhost-resolve: hosts: cannot update: Read-only file system (-k goes on without it)" >expect &&
	test_cmp expect err1 && test_cmp expect err2 &&
	echo "dockerhost-resolve: warning: hosts: cannot update: Read-only file system; going on without it" >expect &&
	test_cmp expect err3 &&
	test_cmp orig hosts
'

test_expect_success ROOT 'a full disk: exit 1 and the hosts file exactly as it was' '
	# One page (4096 bytes) of hosts file on a full 8 KiB tmpfs: the new
	# line is longer, so the file must grow, and cannot.
	mkdir disk &&
	cat >inner.sh <<-\EOF &&
	set -e
	mount -t tmpfs -o size=8k tmpfs disk
	{ echo "127.0.0.1 localhost"; printf "# %04053d\n" 0; echo "10.0.0.1 dockerhost"; } >disk/hosts
	wc -c <disk/hosts >size
	cp disk/hosts before
	dd if=/dev/zero of=disk/fill bs=1k count=64 2>/dev/null || :
	st=0; dockerhost-resolve -a 192.168.100.200 -f disk/hosts >out 2>err || st=$?
	echo $st >st
	cmp before disk/hosts
	rm disk/fill
	dockerhost-resolve -a 192.168.100.200 -f disk/hosts >/dev/null
	tail -n 1 disk/hosts >last
	EOF
	unshare -m sh inner.sh &&
	echo 4096 >expect && test_cmp expect size &&
	echo 1 >expect && test_cmp expect st && test_line_count = 0 out &&
	test_grep "disk/hosts: cannot update: No space left on device" err &&
	printf "192.168.100.200\tdockerhost\n" >expect && test_cmp expect last
'

test_expect_success ROOT 'a read-only hosts file that is already right is fine' '
	printf "192.0.2.1 dockerhost\n" >hosts &&
	unshare -m sh -c "
		mount --bind hosts hosts && mount -o remount,ro,bind hosts &&
		dockerhost-resolve -a 192.0.2.1 -f hosts -- sh -c \"echo ran\"" >out &&
	echo ran >expect && test_cmp expect out
'

test_expect_success !ROOT 'a hosts file we may not write: 1, or 125 with a command; -k runs it' '
	printf "127.0.0.1 localhost\n" >hosts && chmod 444 hosts &&
	test_expect_code 1 dockerhost-resolve -a 192.0.2.1 -f hosts 2>err &&
	test_grep "hosts: cannot update: Permission denied" err &&
	test_expect_code 125 dockerhost-resolve -a 192.0.2.1 -f hosts -- true &&
	dockerhost-resolve -k -a 192.0.2.1 -f hosts -- sh -c "echo ran" >out 2>err &&
	echo ran >expect && test_cmp expect out
'

# --- exec ---

test_expect_success 'argv passes exactly: empty strings, blanks, options, after --' '
	: >hosts &&
	dockerhost-resolve -a 192.0.2.1 -f hosts -- printf "[%s]\\n" "" "a b" -x -- " " "" "*" >out &&
	printf "[]\n[a b]\n[-x]\n[--]\n[ ]\n[]\n[*]\n" >expect && test_cmp expect out &&
	dockerhost-resolve -a 192.0.2.1 -f hosts printf "[%s]\\n" -n x -a -- >out &&
	printf "[-n]\n[x]\n[-a]\n[--]\n" >expect && test_cmp expect out
'

test_expect_success 'a command named like an option is run, not parsed' '
	: >hosts && mkdir bin &&
	printf "#!/bin/sh\necho \"dash-h ran: \$*\"\n" >bin/-h && chmod +x bin/-h &&
	PATH=$PWD/bin:$PATH dockerhost-resolve -a 192.0.2.1 -f hosts -- -h --version >out &&
	echo "dash-h ran: --version" >expect && test_cmp expect out
'

test_expect_success 'exec in place: the same PID before and after' '
	: >hosts &&
	sh -c "echo \$\$; exec dockerhost-resolve -a 192.0.2.1 -f hosts -- sh -c \"echo \\\$\\\$\"" >pids &&
	test_line_count = 2 pids &&
	[ "$(sed -n 1p pids)" = "$(sed -n 2p pids)" ]
'

test_expect_success 'the environment passes on, with DOCKERHOST replaced' '
	: >hosts &&
	DOCKERHOST= GALLEY_KEEP="a  b" dockerhost-resolve -a 192.0.2.1 -f hosts -- \
		sh -c "echo \"\$DOCKERHOST|\$GALLEY_KEEP\"" >out &&
	echo "192.0.2.1|a  b" >expect && test_cmp expect out &&
	DOCKERHOST=192.0.2.5 dockerhost-resolve -f hosts -- sh -c "echo \$DOCKERHOST" >out &&
	echo 192.0.2.5 >expect && test_cmp expect out
'

test_expect_success '127 for a missing command, 126 for one that cannot run' '
	: >hosts && printf "echo hi\n" >script && chmod 644 script && mkdir dir &&
	test_expect_code 127 dockerhost-resolve -a 192.0.2.1 -f hosts -- ./missing 2>err &&
	test_grep "^dockerhost-resolve: ./missing: cannot run: No such file or directory$" err &&
	test_expect_code 126 dockerhost-resolve -a 192.0.2.1 -f hosts -- ./script 2>err &&
	test_grep "^dockerhost-resolve: ./script: cannot run: Permission denied$" err &&
	test_expect_code 126 dockerhost-resolve -a 192.0.2.1 -f hosts -- ./dir 2>err &&
	test_grep "cannot run: Permission denied" err
'

test_expect_success 'no command: the address on stdout; a write error there is an error' '
	: >hosts &&
	test_expect_code 1 dockerhost-resolve -a 192.0.2.1 -f hosts >/dev/full 2>err &&
	test_grep "write <stdout>" err &&
	test_expect_code 1 dockerhost-resolve -p -a 192.0.2.1 >/dev/full 2>err &&
	test_grep "write <stdout>" err
'

test_expect_success 'usage errors name the tool, however it was called' '
	test_expect_code 125 "$DHR" -x -- true 2>err &&
	test_grep "^dockerhost-resolve: invalid option -- .x.$" err &&
	test_line_count = 2 err &&
	set -- && i=0 && while [ $i -lt 33 ]; do set -- "$@" -n h$i; i=$((i + 1)); done &&
	test_expect_code 125 dockerhost-resolve -a 192.0.2.1 "$@" 2>err &&
	test_grep "^dockerhost-resolve: -n: given more than 32 times$" err
'

test_expect_success 'does not load libcurl or libcjson' '
	readelf -d "$DHR" >dyn &&
	test_grep -v "libcurl" dyn && test_grep -v "libcjson" dyn &&
	ldd "$DHR" >libs &&
	test_grep -v -E "libcurl|libcjson|libssl" libs
'

# --- namespaces ---

# A network namespace with a veth pair and two default routes; no traffic.
NS=galley-dhr-$$
netns_setup() {
	ip netns add "$NS" &&
	ip netns exec "$NS" sh -c '
		sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 &&
		ip link add dhr0 type veth peer name dhr1 &&
		ip addr add 192.0.2.2/24 dev dhr0 &&
		ip link set dhr0 up && ip link set dhr1 up &&
		ip route add default via 192.0.2.1 dev dhr0 metric 100 &&
		ip route add default via 192.0.2.9 dev dhr0 metric 50'
}

test_expect_success NETNS 'a real network namespace: the lowest-metric gateway' '
	test_when_finished "ip netns delete $NS" &&
	netns_setup &&
	ip netns exec "$NS" ip -4 route show default >routes &&
	test_line_count = 2 routes &&
	printf "127.0.0.1 localhost\n" >hosts &&
	ip netns exec "$NS" dockerhost-resolve -v -f hosts -- sh -c "echo \$DOCKERHOST" >out 2>err &&
	echo 192.0.2.9 >expect && test_cmp expect out &&
	test_grep "default gateway on dhr0, metric 50, from /proc/net/route" err &&
	test_grep -x "192.0.2.9	dockerhost" hosts &&
	ip netns exec "$NS" ip route del default via 192.0.2.9 &&
	ip netns exec "$NS" dockerhost-resolve -f hosts >out &&
	echo 192.0.2.1 >expect && test_cmp expect out &&
	printf "127.0.0.1 localhost\n192.0.2.1\tdockerhost\n" >expect && test_cmp expect hosts &&
	ip netns exec "$NS" ip route del default &&
	test_expect_code 1 ip netns exec "$NS" dockerhost-resolve -f hosts 2>err &&
	test_grep "/proc/net/route: no default route; set DOCKERHOST or use -a" err &&
	ip netns exec "$NS" ip route add default dev dhr0 &&
	test_expect_code 125 ip netns exec "$NS" dockerhost-resolve -f hosts -- true 2>err &&
	test_grep "no default gateway: 1 default route without a gateway" err &&
	ip netns exec "$NS" ip route add unreachable default metric 5 &&
	ip netns exec "$NS" ip route add default via 192.0.2.77 metric 900 &&
	ip netns exec "$NS" dockerhost-resolve -p >out &&
	echo 192.0.2.77 >expect && test_cmp expect out
'

test_expect_success NETNS 'the namespace is gone afterwards' '
	! ip netns list | grep -q "^$NS\\b"
'

test_expect_success ROOT 'PID 1 of a PID namespace stays PID 1 after exec' '
	: >hosts &&
	unshare --pid --fork --mount-proc dockerhost-resolve -a 192.0.2.7 -f hosts -- \
		sh -c "echo \$\$ \$DOCKERHOST; tr \"\\0\" \" \" </proc/1/cmdline; echo" >out &&
	test_line_count = 2 out &&
	echo "1 192.0.2.7" >expect && sed -n 1p out >got && test_cmp expect got &&
	sed -n 2p out | grep "^sh -c " &&
	test_grep -x "192.0.2.7	dockerhost" hosts
'

test_have_prereq SERVICE_WRAPPER || say "chain test: service-wrapper not built yet"
test_expect_success ROOT,SERVICE_WRAPPER 'chain: dockerhost-resolve -- service-wrapper as PID 1, with the emulators' '
	MARATHON_EMU_HOME=$GALLEY_ROOT/tests/emulators/marathon &&
	CONSUL_EMU_HOME=$GALLEY_ROOT/tests/emulators/consul &&
	. "$MARATHON_EMU_HOME/emu.sh" && . "$CONSUL_EMU_HOME/emu.sh" &&
	EMU_DIR=$PWD && export EMU_DIR &&
	marathon_emu_start &&
	test_when_finished ". $MARATHON_EMU_HOME/emu.sh && marathon_emu_stop $MARATHON_EMU_PID" &&
	consul_emu_start &&
	test_when_finished ". $CONSUL_EMU_HOME/emu.sh && consul_emu_stop $CONSUL_EMU_PID" &&
	consul_emu_put app/test/GREETING "hello world" &&
	: >hosts &&
	test_expect_code 3 unshare --pid --fork --mount-proc \
		dockerhost-resolve -a 192.0.2.7 -f hosts -- \
		service-wrapper --once "$MARATHON_EMU_URL" "$CONSUL_EMU_URL" app/test \
		sh -c "echo \$PPID \$DOCKERHOST \$GREETING; tr \"\\0\" \" \" </proc/1/cmdline; echo; exit 3" >out &&
	echo "1 192.0.2.7 hello world" >expect && sed -n 1p out >got && test_cmp expect got &&
	sed -n 2p out | grep "service-wrapper" &&
	test_grep -x "192.0.2.7	dockerhost" hosts
'

test_done
