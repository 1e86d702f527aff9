#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Marathon 1.x emulator for galley's tests. See README.md beside this file.

usage: emulator.py --port-file FILE [--state-dir DIR] [--name NAME]
                   [--auth none|basic:USER:PASS|token:TOKEN]
                   [--clock real|manual] [--log FILE]
                   [--tls-cert CERT --tls-key KEY] [--heartbeat SECONDS]
                   [--leader-wait SECONDS] [--proxy-timeout SECONDS]
                   [--stop-grace SECONDS] [--images FILE]
"""
import argparse
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from emucommon import write_port_file  # noqa: E402
from marathon_emu.server import Handler, Instance, Server  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="emulator.py", description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--state-dir")
    p.add_argument("--name")
    p.add_argument("--auth", default="none")
    p.add_argument("--clock", choices=("real", "manual"), default="real")
    p.add_argument("--log")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--heartbeat", type=float, default=10.0,
                   help="seconds between SSE heartbeats (Jetty: 10)")
    p.add_argument("--leader-wait", type=float, default=2.75,
                   help="how long to wait for a leader before 502 (11 x 250 ms)")
    p.add_argument("--proxy-timeout", type=float, default=10.0,
                   help="leader_proxy_read_timeout in seconds")
    p.add_argument("--stop-grace", type=float, default=3.0,
                   help="on exit, seconds between SIGTERM and SIGKILL for tasks")
    p.add_argument("--images", help="JSON: Docker image name -> {Entrypoint, Cmd, "
                   "WorkingDir, Env}, as docker inspect's Config; such apps run "
                   "ENTRYPOINT + args as a local process")
    opts = p.parse_args(argv)
    kind = opts.auth.split(":", 1)[0]
    if kind not in ("none", "basic", "token") or \
            (kind == "basic" and opts.auth.count(":") < 2) or \
            (kind == "token" and ":" not in opts.auth):
        p.error("--auth must be none, basic:USER:PASS or token:TOKEN")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    opts.image_map = {}
    if opts.images:
        try:
            with open(opts.images) as f:
                opts.image_map = json.load(f)
        except (OSError, ValueError) as e:
            p.error("--images %s: %s" % (opts.images, e))
        if not isinstance(opts.image_map, dict) or \
                not all(isinstance(v, dict) for v in opts.image_map.values()):
            p.error("--images %s: not an object of objects" % opts.images)
    return opts


def main(argv):
    opts = parse_args(argv)
    temp_dir = None
    if opts.state_dir:
        state_dir = opts.state_dir
        os.makedirs(state_dir, exist_ok=True)
    else:
        state_dir = temp_dir = tempfile.mkdtemp(prefix="marathon-emu-")

    server = Server(("127.0.0.1", 0), Handler)
    scheme = "http"
    if opts.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    inst = server.inst = Instance(opts, state_dir, port, scheme)
    inst.engine.images = opts.image_map
    inst.cluster.join()
    inst.cluster.elect()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=inst.scheduler, daemon=True),
               threading.Thread(target=server.serve_forever, args=(0.05,),
                                daemon=True)]
    for t in threads:
        t.start()
    write_port_file(opts.port_file, port)
    inst.log("listening on %s as %s, state in %s" % (inst.url, inst.name, state_dir))

    while not stop.wait(3600):
        pass

    inst.stopping.set()
    try:
        server.shutdown()
        inst.bus.close_all()
        threads[0].join()
        with inst.engine.lock:
            inst.cluster.leave()
    finally:
        # The tasks stop whatever happened above (a state directory
        # removed under us, say): none may outlive the emulator.
        inst.agent.stop_all(opts.stop_grace)
    server.server_close()
    inst.log("stopped")
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
