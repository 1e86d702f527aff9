#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A unix stream socket that accepts connections and never answers: a
master CLI that hangs.

    hpr-mute-socket.py SOCKET READY-FILE

Binds SOCKET, writes READY-FILE once it listens, accepts every connection
and keeps it open without reading or writing, until SIGTERM. The number of
connections accepted so far is in READY-FILE.count.
"""
import os
import signal
import socket
import sys

path, ready = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(ready + ".tmp", ready)
held = []
while len(held) < 1000:
    c, _ = srv.accept()
    held.append(c)
    with open(ready + ".count.tmp", "w") as f:
        f.write("%d\n" % len(held))
    os.rename(ready + ".count.tmp", ready + ".count")
signal.pause()
