# See COPYING for copyright and license details.
"""Consul's KV state store (consul.md §1.4): one raft index, the "kvs" and
"tombstones" table indexes, entries in a watched radix tree, tombstones,
and a history of states for a lagging follower.

Every method that changes something takes the store's lock itself; the
HTTP side holds the same lock (store.cond) while it runs and re-runs a
blocking query."""
import base64
import collections
import json
import os
import threading
import time

from .gocompat import decode_bytes
from .radix import Tree, Watch


class Entry:
    """structs.DirEntry; immutable once stored."""
    __slots__ = ("key", "kb", "value", "flags", "session", "lock_index",
                 "create", "modify")

    def __init__(self, kb, value, flags, session="", lock_index=0, create=0, modify=0):
        self.kb = kb
        self.key = decode_bytes(kb)
        self.value = value or None              # empty is nil, read back as null
        self.flags = flags
        self.session = session
        self.lock_index = lock_index
        self.create = create
        self.modify = modify

    def same(self, other):
        """DirEntry.Equal: LockIndex, Key, Flags, Value, Session."""
        return (self.kb == other.kb and self.flags == other.flags and
                (self.value or b"") == (other.value or b"") and
                self.session == other.session and self.lock_index == other.lock_index)

    def json(self):
        """Go's field order; Value as standard base64 or null."""
        out = {"LockIndex": self.lock_index, "Key": self.key, "Flags": self.flags,
               "Value": base64.b64encode(self.value).decode() if self.value else None}
        if self.session:
            out["Session"] = self.session
        out["CreateIndex"] = self.create
        out["ModifyIndex"] = self.modify
        return out

    def renumbered(self, cap):
        return Entry(self.kb, self.value, self.flags, self.session, self.lock_index,
                     min(self.create, cap), min(self.modify, cap))


def _tree_key(kb):
    return kb + b"\x00"                 # memdb's string index terminator


class Result:
    """One run of a read: what blockingQuery sees."""
    __slots__ = ("index", "entries", "watches", "not_found")

    def __init__(self, index, entries, watches, not_found=False):
        self.index, self.entries = index, entries
        self.watches, self.not_found = watches, not_found


class Snapshot:
    """A frozen state for follower reads (no radix tree, no watches)."""

    def __init__(self, raft, kvs_idx, tomb_idx, entries, tombs):
        self.raft, self.kvs_idx, self.tomb_idx = raft, kvs_idx, tomb_idx
        self.entries, self.tombs = entries, tombs      # sorted list, dict

    def get(self, kb, watches):
        idx = max(self.kvs_idx, self.tomb_idx)
        for e in self.entries:
            if e.kb == kb:
                return Result(e.modify, [e], watches)
        return Result(idx, [], watches, not_found=True)

    def list(self, kb, watches):
        entries = [e for e in self.entries if e.kb.startswith(kb)]
        return Result(_list_index(self.kvs_idx, self.tomb_idx, kb, entries, self.tombs),
                      entries, watches)


def _list_index(kvs_idx, tomb_idx, prefix, entries, tombs):
    """kvsListTxn: max ModifyIndex of the entries and of the prefix's
    tombstones; the whole table index for "" or when both are 0."""
    idx = max(kvs_idx, tomb_idx)
    if prefix:
        lindex = max([e.modify for e in entries] +
                     [i for k, (i, _) in tombs.items() if k.startswith(prefix)] + [0])
    else:
        lindex = idx
    return lindex or idx


class Store:
    def __init__(self, start_index=10, legacy=False, state_file=None, log=None):
        self.cond = threading.Condition(threading.RLock())
        self.legacy = legacy
        self.state_file = state_file
        self.log = log or (lambda text: None)
        self.raft = start_index
        self.kvs_idx = 0
        self.tomb_idx = 0
        self.tree = Tree()
        self.tombs = {}                 # key bytes -> (index, monotonic time)
        self.abandon = Watch()          # closed when the state store is replaced
        self.commit_watch = Watch()     # closed by every commit (follower reads)
        self.history = collections.deque(maxlen=512)
        self.stopping = False
        if state_file and os.path.exists(state_file):
            self._load()
        self._remember()

    # ---- plumbing --------------------------------------------------------

    def _next(self):
        self.raft += 1
        return self.raft

    def _commit(self, txn=None, changed=True):
        if txn is not None:
            txn.commit()
        self.commit_watch.closed = True
        self.commit_watch = Watch()
        if changed:
            self._remember()
            self._save()
        self.cond.notify_all()

    def _remember(self):
        self.history.append(self.snapshot())

    def snapshot(self):
        return Snapshot(self.raft, self.kvs_idx, self.tomb_idx, self.tree.values(),
                        dict(self.tombs))

    def follower_view(self, lag):
        """The state a follower `lag` raft entries behind would serve."""
        target = self.raft - lag
        for snap in reversed(self.history):
            if snap.raft <= target:
                return snap
        return self.history[0]

    def _lookup(self, kb):
        return self.tree.get_watch(_tree_key(kb))[1]

    # ---- writes (each one consumes a raft index, like a raft apply) -------

    def set(self, kb, value, flags, cas=None):
        """PUT: True, or False for a failed check-and-set (KVS.Apply)."""
        with self.cond:
            idx = self._next()
            existing = self._lookup(kb)
            if cas is not None:
                if (cas == 0 and existing is not None) or \
                        (cas != 0 and (existing is None or existing.modify != cas)):
                    self._commit(changed=False)
                    return False
            entry = Entry(kb, value, flags, existing.session if existing else "",
                          0, existing.create if existing else idx, idx)
            if existing is not None and existing.same(entry) and not self.legacy:
                # Consul >= 1.6 (PR #5885): nothing changes, nothing wakes
                self._commit(changed=False)
                self.log("kv set %s: unchanged at raft index %d" % (entry.key, idx))
                return True
            txn = self.tree.txn()
            txn.insert(_tree_key(kb), entry)
            self.kvs_idx = idx
            self._commit(txn)
            self.log("kv set %s: ModifyIndex %d" % (entry.key, idx))
            return True

    def noop(self):
        """A raft entry that changes no KV data (a failed lock, say)."""
        with self.cond:
            self._next()
            self._commit(changed=False)

    def delete(self, kb, cas=None):
        with self.cond:
            idx = self._next()
            existing = self._lookup(kb)
            if existing is None:
                self._commit(changed=False)
                return True
            if cas is not None and existing.modify != cas:
                self._commit(changed=False)
                return False
            txn = self.tree.txn()
            txn.delete(_tree_key(kb))
            self.tombs[kb] = (idx, time.monotonic())
            self.tomb_idx = idx
            self.kvs_idx = idx
            self._commit(txn)
            self.log("kv delete %s: tombstone at %d" % (decode_bytes(kb), idx))
            return True

    def delete_tree(self, kb):
        with self.cond:
            idx = self._next()
            if not self.tree.prefix_watch(kb)[1]:
                self._commit(changed=False)
                return True
            txn = self.tree.txn()
            count = txn.delete_prefix(kb)
            if kb:              # none for the whole tree (consul.md §1.4)
                self.tombs[kb] = (idx, time.monotonic())
                self.tomb_idx = idx
            self.kvs_idx = idx
            self._commit(txn)
            self.log("kv delete-tree %r: %d keys at %d" % (decode_bytes(kb), count, idx))
            return True

    def reap(self, upto=None):
        """Tombstone GC: drop tombstones with Index <= upto (default: all).
        A raft operation; changes no table index and wakes no query."""
        with self.cond:
            idx = self._next()
            upto = idx if upto is None else upto
            gone = sorted(k for k, (i, _) in self.tombs.items() if i <= upto)
            for k in gone:
                del self.tombs[k]
            self._commit(changed=bool(gone))
            self.log("tombstones reaped up to %d: %d" % (upto, len(gone)))
            return [decode_bytes(k) for k in gone]

    def expired_tombstones(self, ttl):
        """The highest index among tombstones older than ttl seconds, or None."""
        with self.cond:
            now = time.monotonic()
            old = [i for i, t in self.tombs.values() if now - t >= ttl]
            return max(old) if old else None

    def reset(self, to, wipe=False):
        """A restart or snapshot restore with a lower index: the raft index
        becomes `to`, entries keep their values with indexes capped at `to`,
        tombstones are gone, and the old state store is abandoned."""
        with self.cond:
            entries = [] if wipe else [e.renumbered(to) for e in self.tree.values()]
            self.tree = Tree()
            txn = self.tree.txn()
            for e in entries:
                txn.insert(_tree_key(e.kb), e)
            txn.commit()
            self.tombs = {}
            self.raft = to
            self.kvs_idx = max([e.modify for e in entries] + [0])
            self.tomb_idx = 0
            self.abandon.closed = True
            self.abandon = Watch()
            self.history.clear()
            self._commit()
            self.log("index reset to %d (%s)" % (to, "wiped" if wipe else "kept data"))

    # ---- reads (call with self.cond held) ----------------------------------

    def get(self, kb, watches=None):
        """KVS.Get: the entry's ModifyIndex, or the table index when missing."""
        idx = max(self.kvs_idx, self.tomb_idx)
        watch, entry = self.tree.get_watch(_tree_key(kb))
        if entry is None:
            return Result(idx, [], [watch], not_found=True)
        return Result(entry.modify, [entry], [watch])

    def list(self, kb, watches=None):
        """KVS.List / ListKeys over a raw byte prefix."""
        watch, entries = self.tree.prefix_watch(kb)
        return Result(_list_index(self.kvs_idx, self.tomb_idx, kb, entries, self.tombs),
                      entries, [watch])

    def state(self):
        with self.cond:
            return {"index": self.raft, "kvs_index": self.kvs_idx,
                    "tombstone_index": self.tomb_idx, "keys": self.tree.size,
                    "tombstones": sorted(({"key": decode_bytes(k), "index": i}
                                          for k, (i, _) in self.tombs.items()),
                                         key=lambda t: t["key"]),
                    "legacy_index": self.legacy}

    def dump(self):
        with self.cond:
            return [e.json() for e in self.tree.values()]

    # ---- persistence (--state-dir) ------------------------------------------

    def _save(self):
        if not self.state_file:
            return
        data = {"raft": self.raft, "kvs_index": self.kvs_idx, "tombstone_index": self.tomb_idx,
                "entries": [{"key": base64.b64encode(e.kb).decode(),
                             "value": base64.b64encode(e.value).decode() if e.value else None,
                             "flags": e.flags, "session": e.session, "lock": e.lock_index,
                             "create": e.create, "modify": e.modify}
                            for e in self.tree.values()],
                "tombstones": [{"key": base64.b64encode(k).decode(), "index": i}
                               for k, (i, _) in sorted(self.tombs.items())]}
        tmp = "%s.%d.tmp" % (self.state_file, os.getpid())
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.rename(tmp, self.state_file)

    def _load(self):
        with open(self.state_file) as f:
            data = json.load(f)
        self.raft = data["raft"]
        self.kvs_idx = data["kvs_index"]
        self.tomb_idx = data["tombstone_index"]
        txn = self.tree.txn()
        for e in data["entries"]:
            kb = base64.b64decode(e["key"])
            value = base64.b64decode(e["value"]) if e["value"] is not None else None
            txn.insert(_tree_key(kb), Entry(kb, value, e["flags"], e["session"], e["lock"],
                                            e["create"], e["modify"]))
        txn.commit()
        now = time.monotonic()
        self.tombs = {base64.b64decode(t["key"]): (t["index"], now) for t in data["tombstones"]}
