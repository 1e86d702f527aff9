# See COPYING for copyright and license details.
"""Real local processes for tasks, as a Mesos agent's command executor runs
them: `cmd` through /bin/sh -c, `args` exec'd directly, each task in its own
process group with its sandbox as working directory (marathon.md §5)."""
import os
import signal
import socket
import subprocess
import threading
import time


def free_port():
    """An ephemeral port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exit_message(code):
    """Mesos command executor's wording for how a command ended."""
    if code is None:
        return "Task lost: its process disappeared"
    if code < 0:
        return "Command terminated with signal " + signal.strsignal(-code).split(":")[0]
    return "Command exited with status %d" % code


class Agent:
    """This emulator instance's own task processes. Every instance reaps the
    children it started (whether or not it leads) and writes each exit
    status to <state-dir>/exits/<task-id>, where any leader can read it."""

    def __init__(self, state_dir):
        self.exits_dir = os.path.join(state_dir, "exits")
        os.makedirs(self.exits_dir, exist_ok=True)
        self.children = {}          # task id -> Popen
        self.lock = threading.Lock()
        self.stopping = False
        self.reaper = threading.Thread(target=self._reap_loop, daemon=True)
        self.reaper.start()

    def spawn(self, task_id, argv, env, sandbox, cwd=None):
        """Start a task in cwd (default: its sandbox); returns (pid, None)
        or (None, error message)."""
        os.makedirs(sandbox, exist_ok=True)
        try:
            with open(os.path.join(sandbox, "stdout"), "ab") as out, \
                    open(os.path.join(sandbox, "stderr"), "ab") as err:
                proc = subprocess.Popen(argv, cwd=cwd or sandbox, env=env,
                                        stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=err, start_new_session=True,
                                        close_fds=True)
        except OSError as e:
            return None, "Failed to launch command: %s" % e.strerror
        with self.lock:
            self.children[task_id] = proc
        return proc.pid, None

    def _reap_loop(self):
        while not self.stopping:
            with self.lock:
                done = [(t, p) for t, p in self.children.items() if p.poll() is not None]
                for task_id, _ in done:
                    del self.children[task_id]
            for task_id, proc in done:
                _killpg(proc.pid, signal.SIGKILL)   # the sandbox's leftovers
                _write_exit(self.exits_dir, task_id, proc.returncode)
            time.sleep(0.05)

    def exit_status(self, task_id, pid):
        """(ended, code): code None when the process vanished unreaped."""
        path = os.path.join(self.exits_dir, task_id)
        try:
            with open(path) as f:
                return True, int(f.read())
        except (OSError, ValueError):
            pass
        with self.lock:
            if task_id in self.children:
                return False, None
        try:
            os.kill(pid, 0)
            return False, None
        except ProcessLookupError:
            # maybe reaped by its agent between our two looks
            time.sleep(0.01)
            try:
                with open(path) as f:
                    return True, int(f.read())
            except (OSError, ValueError):
                return True, None
        except PermissionError:
            return False, None

    def stop_all(self, grace):
        """On shutdown: SIGTERM every child's group, SIGKILL after grace."""
        with self.lock:
            procs = list(self.children.items())
        for _, proc in procs:
            _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for task_id, proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            _killpg(proc.pid, signal.SIGKILL)
            _write_exit(self.exits_dir, task_id, proc.returncode)
        self.stopping = True


def signal_group(pid, sig):
    _killpg(pid, sig)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _write_exit(directory, task_id, code):
    tmp = os.path.join(directory, "." + task_id)
    try:
        with open(tmp, "w") as f:
            f.write(str(code))
        os.rename(tmp, os.path.join(directory, task_id))
    except OSError:
        pass    # the state directory is gone: nobody is left to read it
