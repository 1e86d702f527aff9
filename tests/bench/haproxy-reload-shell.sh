#!/bin/sh
# See COPYING for copyright and license details.
#
# The article's reload, as the article gives it, the baseline for
# tests/bench/haproxy-reload.sh: drop new SYNs to port 80, wait 0.2 s,
# reload HAProxy, let the SYNs in again. Kept faithful, defects included:
# no check of the configuration, nothing confirms that the reload worked,
# the rule stays when the script is killed during the reload, and every
# client whose SYN is dropped waits for its retransmission (>= 1 s).
#
#   haproxy-reload-shell.sh [reload-command ...]
#
# The one change: the reload command is a parameter (default, as in the
# article: systemctl reload haproxy), since there is no systemd here.
[ $# -gt 0 ] || set -- systemctl reload haproxy

iptables -I INPUT -p tcp --dport 80 --syn -j DROP
sleep 0.2
"$@"
iptables -D INPUT -p tcp --dport 80 --syn -j DROP
