#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Consul KV emulator for galley's tests. See README.md beside this file.

usage: emulator.py --port-file FILE [--port PORT] [--state-dir DIR] [--log FILE]
                   [--name NAME] [--acl-default allow|deny] [--token SECRET:POLICY ...]
                   [--legacy-index] [--tls-cert CERT --tls-key KEY] [--dev]
                   [--default-query-time DUR] [--max-query-time DUR] [--no-jitter]
                   [--tombstone-ttl DUR] [--kv-max-value-size BYTES]
                   [--start-index N] [--datacenter DC]
"""
import argparse
import os
import signal
import ssl
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from emucommon import write_port_file  # noqa: E402
from consul_emu.acl import Acl  # noqa: E402
from consul_emu.gocompat import parse_duration  # noqa: E402
from consul_emu.server import Handler, Instance, Server  # noqa: E402


def duration(text):
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="emulator.py", description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0, help="default: an ephemeral port")
    p.add_argument("--state-dir", help="keep the KV data in DIR/kv.json across runs")
    p.add_argument("--log")
    p.add_argument("--name")
    p.add_argument("--acl-default", choices=("allow", "deny"))
    p.add_argument("--token", action="extend", nargs="+", metavar="SECRET:POLICY")
    p.add_argument("--legacy-index", action="store_true",
                   help="Consul < 1.6: identical PUTs bump ModifyIndex and wake watchers")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--dev", action="store_true", help="always pretty-print, like -dev")
    p.add_argument("--default-query-time", type=duration, default=300.0)
    p.add_argument("--max-query-time", type=duration, default=600.0)
    p.add_argument("--no-jitter", action="store_true", help="no wait/16 jitter")
    p.add_argument("--tombstone-ttl", type=duration, default=900.0,
                   help="reap tombstones this old (Consul: 15m); 0: only on request")
    p.add_argument("--kv-max-value-size", type=int, default=512 * 1024)
    p.add_argument("--start-index", type=int, default=10,
                   help="the raft index of a fresh cluster")
    p.add_argument("--datacenter", default="dc1")
    opts = p.parse_args(argv)
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    try:
        Acl(opts.acl_default, opts.token or ())
    except ValueError as e:
        p.error(str(e))
    return opts


def reaper(inst):
    """The leader's tombstone GC: reap what is older than --tombstone-ttl."""
    ttl = inst.opts.tombstone_ttl
    tick = min(max(ttl / 10.0, 0.05), 30.0)
    while not inst.stopping.wait(tick):
        upto = inst.store.expired_tombstones(ttl)
        if upto is not None and inst.leader:
            inst.store.reap(upto)


def main(argv):
    opts = parse_args(argv)
    state_file = None
    if opts.state_dir:
        os.makedirs(opts.state_dir, exist_ok=True)
        state_file = os.path.join(opts.state_dir, "kv.json")

    server = Server(("127.0.0.1", opts.port), Handler)
    scheme = "http"
    if opts.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = "https"
    port = server.server_address[1]
    inst = server.inst = Instance(opts, port, scheme, state_file)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)]
    if opts.tombstone_ttl > 0:
        threads.append(threading.Thread(target=reaper, args=(inst,), daemon=True))
    for t in threads:
        t.start()
    write_port_file(opts.port_file, port)
    inst.log("listening on %s as %s, raft index %d" % (inst.url, inst.name, inst.store.raft))

    while not stop.wait(3600):
        pass

    inst.stopping.set()
    inst.kick()
    server.shutdown()
    inst.drop_connections(None)
    server.server_close()
    inst.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
