#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Send one command line to a unix stream socket (HAProxy's master CLI) and
print the answer: a stand-in for `echo CMD | socat SOCKET stdio`.

    hpr-mcli.py SOCKET COMMAND [TIMEOUT-SECONDS]

Half-closes after sending (the master CLI keeps the connection open
otherwise) and reads to EOF. Exit 0 with the answer on stdout; 3 when the
socket cannot be reached or does not finish answering within TIMEOUT
(default 2 s), with the reason on stderr.
"""
import socket
import sys
import time

path, cmd = sys.argv[1], sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
end = time.monotonic() + timeout
out = b""
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(cmd.encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        s.settimeout(left)
        d = s.recv(65536)
        if not d:
            break
        out += d
except (OSError, socket.timeout) as e:
    sys.stdout.write(out.decode(errors="replace"))
    sys.stderr.write("hpr-mcli: %s: %s\n" % (path, e))
    sys.exit(3)
sys.stdout.write(out.decode(errors="replace"))
