# See COPYING for copyright and license details.
"""A radix tree with watch channels, after hashicorp/go-immutable-radix
(the KV "id" index of Consul's memdb).

What matters for the emulator is *which* blocking queries a write wakes:
iradix gives every node and every leaf a mutate channel, closes the channel
of each node a transaction copies (writeNode) and of each leaf it replaces,
and a query watches the deepest node on its search path (GetWatch for one
key, SeekPrefixWatch for a prefix). The tree here is mutated in place; a
node "copied" by a transaction gets a fresh Watch and its old one is closed
at commit, which is the same thing as seen by a watcher.
"""


class Watch:
    """A mutate channel: closed once, never reopened."""
    __slots__ = ("closed",)

    def __init__(self):
        self.closed = False


class _Leaf:
    __slots__ = ("key", "val", "ch")

    def __init__(self, key, val):
        self.key, self.val, self.ch = key, val, Watch()


class _Node:
    __slots__ = ("prefix", "leaf", "edges", "ch")

    def __init__(self, prefix=b"", leaf=None):
        self.prefix, self.leaf, self.edges, self.ch = prefix, leaf, {}, Watch()


def _common(a, b):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Tree:
    def __init__(self):
        self.root = _Node()
        self.size = 0

    # ---- reads -----------------------------------------------------------

    def get_watch(self, key):
        """(watch, value or None) as iradix Node.GetWatch."""
        n, watch, search = self.root, self.root.ch, key
        while True:
            if not search:
                if n.leaf is not None:
                    return n.leaf.ch, n.leaf.val
                break
            child = n.edges.get(search[0])
            if child is None:
                break
            n = child
            watch = n.ch
            if search.startswith(n.prefix):
                search = search[len(n.prefix):]
            else:
                break
        return watch, None

    def prefix_watch(self, prefix):
        """(watch, [values under prefix in key order]) as SeekPrefixWatch."""
        n, watch, search = self.root, self.root.ch, prefix
        while search:
            child = n.edges.get(search[0])
            if child is None:
                return watch, []
            n = child
            watch = n.ch
            if search.startswith(n.prefix):
                search = search[len(n.prefix):]
            elif n.prefix.startswith(search):
                break
            else:
                return watch, []
        out = []
        self._walk(n, out)
        return watch, out

    def _walk(self, n, out):
        stack = [n]
        while stack:
            n = stack.pop()
            if n.leaf is not None:
                out.append(n.leaf.val)
            stack.extend(n.edges[k] for k in sorted(n.edges, reverse=True))

    def values(self):
        out = []
        self._walk(self.root, out)
        return out

    def txn(self):
        return Txn(self)


class Txn:
    """One write transaction; commit() returns the watches it closed."""

    def __init__(self, tree):
        self.tree = tree
        self.written = set()
        self.closed = []

    def _track(self, watch):
        self.closed.append(watch)

    def _write(self, n, leaf=False):
        if n in self.written:
            return
        self._track(n.ch)
        if leaf and n.leaf is not None:
            self._track(n.leaf.ch)
        n.ch = Watch()
        self.written.add(n)

    def _new(self, prefix, leaf=None):
        n = _Node(prefix, leaf)
        self.written.add(n)
        return n

    def _merge_child(self, n):
        (label, child), = n.edges.items()
        self._track(child.ch)
        n.prefix = n.prefix + child.prefix
        n.leaf = child.leaf
        n.edges = dict(child.edges)

    # ---- insert ----------------------------------------------------------

    def insert(self, key, val):
        """True when the key existed (an update)."""
        updated = self._insert(self.tree.root, key, key, val)
        if not updated:
            self.tree.size += 1
        return updated

    def _insert(self, n, key, search, val):
        if not search:
            updated = n.leaf is not None
            self._write(n, leaf=True)
            n.leaf = _Leaf(key, val)
            return updated
        child = n.edges.get(search[0])
        if child is None:
            self._write(n)
            n.edges[search[0]] = self._new(search, _Leaf(key, val))
            return False
        common = _common(search, child.prefix)
        if common == len(child.prefix):
            updated = self._insert(child, key, search[common:], val)
            self._write(n)
            return updated
        # split the edge: parent -> split -> (old child, new leaf)
        self._write(n)
        split = self._new(search[:common])
        n.edges[search[0]] = split
        self._write(child)
        child.prefix = child.prefix[common:]
        split.edges[child.prefix[0]] = child
        rest = search[common:]
        leaf = _Leaf(key, val)
        if not rest:
            split.leaf = leaf
        else:
            split.edges[rest[0]] = self._new(rest, leaf)
        return False

    # ---- delete ----------------------------------------------------------

    def delete(self, key):
        """The deleted value, or None."""
        leaf = self._delete(self.tree.root, key)
        if leaf is None:
            return None
        self.tree.size -= 1
        return leaf.val

    def _delete(self, n, search):
        root = self.tree.root
        if not search:
            if n.leaf is None:
                return None
            old = n.leaf
            self._write(n, leaf=True)
            n.leaf = None
            if n is not root and len(n.edges) == 1:
                self._merge_child(n)
            return old
        label = search[0]
        child = n.edges.get(label)
        if child is None or not search.startswith(child.prefix):
            return None
        old = self._delete(child, search[len(child.prefix):])
        if old is not None:
            self._prune(n, label, child)
        return old

    def delete_prefix(self, prefix):
        """Number of values deleted under prefix (iradix deletePrefix)."""
        count = self._delete_prefix(self.tree.root, prefix)
        count = count or 0
        self.tree.size -= count
        return count

    def _track_all(self, n):
        count = 0
        stack = [n]
        while stack:
            n = stack.pop()
            self._track(n.ch)
            if n.leaf is not None:
                self._track(n.leaf.ch)
                count += 1
            stack.extend(n.edges.values())
        return count

    def _delete_prefix(self, n, search):
        if not search:
            count = self._track_all(n)
            self.written.add(n)
            n.ch = Watch()
            n.leaf = None
            n.edges = {}
            return count
        label = search[0]
        child = n.edges.get(label)
        if child is None or not (child.prefix.startswith(search) or
                                 search.startswith(child.prefix)):
            return None
        rest = b"" if len(child.prefix) > len(search) else search[len(child.prefix):]
        count = self._delete_prefix(child, rest)
        if count is not None:
            self._prune(n, label, child)
        return count

    def _prune(self, n, label, child):
        """After a delete below n: drop an empty child, merge a lone one."""
        self._write(n)
        if child.leaf is None and not child.edges:
            del n.edges[label]
            if n is not self.tree.root and len(n.edges) == 1 and n.leaf is None:
                self._merge_child(n)

    def commit(self):
        for w in self.closed:
            w.closed = True
        closed, self.closed = self.closed, []
        return closed
