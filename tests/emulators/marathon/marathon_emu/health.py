# See COPYING for copyright and license details.
"""Marathon health checks run by the emulator against real task processes:
HTTP passes on 200–399 (marathon.md §1.7), TCP on connect, COMMAND on exit 0."""
import http.client
import ssl
import socket
import subprocess


def run_check(check, ports, env):
    """Returns (alive, cause); cause explains a failure."""
    proto = check.get("protocol", "HTTP")
    timeout = check.get("timeoutSeconds", 20)
    if proto == "COMMAND":
        cmd = (check.get("command") or {}).get("value", "false")
        try:
            rc = subprocess.run(["/bin/sh", "-c", cmd], env=env, timeout=timeout,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            return False, "command timed out"
        return rc == 0, "command exited with status %d" % rc
    if "port" in check:
        port = check["port"]
    else:
        index = check.get("portIndex", 0)
        if index >= len(ports):
            return False, "no port at index %d" % index
        port = ports[index]
    if proto in ("TCP", "MESOS_TCP"):
        try:
            socket.create_connection(("127.0.0.1", port), timeout).close()
            return True, None
        except OSError as e:
            return False, type(e).__name__
    if proto in ("HTTPS", "MESOS_HTTPS"):
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=timeout,
            context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", check.get("path", "/"))
        resp = conn.getresponse()
        resp.read()
        if 200 <= resp.status < 400:
            return True, None
        return False, "%d %s" % (resp.status, resp.reason)
    except (OSError, http.client.HTTPException) as e:
        return False, type(e).__name__
    finally:
        conn.close()
