# See COPYING for copyright and license details.
"""HA: emulator instances started with the same --state-dir form one
cluster. The state dir plays ZooKeeper's part:

  members/<name>.json  each live instance: name, url, pid
  leader.json          {"leader": name or null, "mode": "auto" | "none"}
  state.json           the leader's state, written as it changes
  lock                 flock(2) serialising elections and hand-overs

The leader alone holds the state in memory and answers; followers proxy
to it (marathon.md §1.10). In "auto" mode a live instance takes over when
the leader is gone; "none" keeps the cluster leaderless until told.
"""
import fcntl
import json
import os


def write_json(path, obj):
    """Atomic write: temp file in the same directory, then rename."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.rename(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Cluster:
    def __init__(self, state_dir, name, url, engine, on_demoted):
        self.dir = state_dir
        self.name = name
        self.url = url
        self.engine = engine
        self.on_demoted = on_demoted    # called when leadership is lost
        self.active = False             # our engine holds the cluster state
        self.written = None             # last state.json text we wrote
        os.makedirs(os.path.join(state_dir, "members"), exist_ok=True)
        self.member_path = os.path.join(state_dir, "members", name + ".json")
        self.leader_path = os.path.join(state_dir, "leader.json")
        self.state_path = os.path.join(state_dir, "state.json")

    # ---- membership ------------------------------------------------------

    def join(self):
        write_json(self.member_path, {"name": self.name, "url": self.url,
                                      "pid": os.getpid()})

    def members(self):
        out = {}
        directory = os.path.join(self.dir, "members")
        for entry in sorted(os.listdir(directory)):
            if entry.endswith(".json"):
                m = read_json(os.path.join(directory, entry))
                if m and _alive(m["pid"]):
                    out[m["name"]] = m
        return out

    def _locked(self):
        f = open(os.path.join(self.dir, "lock"), "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        return f

    # ---- who leads -------------------------------------------------------

    def leader_record(self):
        return read_json(self.leader_path, {"leader": None, "mode": "auto"})

    def leader(self):
        """The live leader's member record, or None."""
        name = self.leader_record()["leader"]
        return self.members().get(name) if name else None

    def elect(self):
        """In auto mode, take over when there is no live leader."""
        record = self.leader_record()
        if record["mode"] != "auto" or self.leader() is not None:
            return
        with self._locked():
            record = self.leader_record()
            if record["mode"] == "auto" and self.leader() is None:
                write_json(self.leader_path, {"leader": self.name, "mode": "auto"})

    def sync(self):
        """Follow leader.json: load the state when we become leader, drop it
        when we stop being leader. Call with the engine lock held."""
        leading = self.leader_record()["leader"] == self.name
        if leading and not self.active:
            self.engine.load(read_json(self.state_path, {}))
            self.written = None
            self.active = True
        elif not leading and self.active:
            self.active = False
            self.engine.reset()
            self.on_demoted()

    def flush(self):
        """Write state.json when the leader's state changed."""
        if not self.active:
            return
        text = json.dumps(self.engine.snapshot(), separators=(",", ":"))
        if text != self.written:
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, self.state_path)
            self.written = text

    def hand_over(self, name):
        """Make `name` the leader (None: no leader). Only the current leader,
        or anyone while there is no live leader, may do this."""
        with self._locked():
            if self.active:
                self.flush()
            write_json(self.leader_path, {"leader": name,
                                          "mode": "auto" if name else "none"})
        self.sync()

    def successor(self):
        """Whom DELETE /v2/leader hands over to: another live instance."""
        others = [n for n in self.members() if n != self.name]
        return others[0] if others else self.name

    def leave(self):
        """On shutdown: hand the state on and leave the cluster."""
        if self.active:
            with self._locked():
                self.flush()
                if self.leader_record()["leader"] == self.name:
                    write_json(self.leader_path, {"leader": None, "mode": "auto"})
        try:
            os.unlink(self.member_path)
        except FileNotFoundError:
            pass
