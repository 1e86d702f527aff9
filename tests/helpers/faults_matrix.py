#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Check tests/FAULTS.md against the tests it names.

    faults_matrix.py ROOT [MATRIX]

ROOT is the repository (or a copy of its tests/), MATRIX the file to check
(default ROOT/tests/FAULTS.md). Fails (exit 1, one line per problem on
stderr) when a row names a file or a test title that does not exist, when
a result is not survived, lost or "pending: FILE", when a pending row's
file exists (then it must be measured), when a test of the fault files has
no row, or when the totals line does not match the rows. On success
prints the totals.
"""
import os
import re
import sys

BEGIN = "<!-- faults: begin -->"
END = "<!-- faults: end -->"
# Every test of these files must have a row.
FAULT_FILES = ("tests/cli/faults.t", "tests/cli/faults-deploy.t")
TOTALS = re.compile(r"^Totals: (\d+) faults injected, (\d+) survived, "
                    r"(\d+) lost, (\d+) pending\.$", re.M)
CALL = re.compile(r"^[ \t]*test_expect_success[ \t]+", re.M)
VARNAME = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def words(text, i, most):
    """Up to `most` sh words of one command from text[i:]: each a list of
    (string, expanded) pieces, expanded for $VAR outside single quotes."""
    out, cur, started = [], [], False
    n = len(text)
    while i < n and len(out) < most:
        c = text[i]
        if c in " \t" or (c == "\n" and not started):
            if started:
                out.append(cur)
                cur, started = [], False
            if c == "\n":
                break
            i += 1
            continue
        if c == "\n":
            out.append(cur)
            started = False
            break
        started = True
        if c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            cur.append((text[i + 1:j], False))
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    cur.append((text[i + 1], False))
                    i += 2
                    continue
                m = VARNAME.match(text, i)
                if m:
                    cur.append((m.group(0), True))
                    i = m.end()
                    continue
                cur.append((text[i], False))
                i += 1
            i += 1
        elif c == "\\" and i + 1 < n:
            cur.append((text[i + 1], False))
            i += 2
        else:
            m = VARNAME.match(text, i)
            if m:
                cur.append((m.group(0), True))
                i = m.end()
            else:
                cur.append((c, False))
                i += 1
    if started and len(out) < most:
        out.append(cur)
    return out


def titles(path):
    """The titles of a test file: exact strings, and patterns for those
    built from variables ("$tool: ...", "SIG$sig ...")."""
    exact, patterns = set(), []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in CALL.finditer(text):
        w = words(text, m.end(), 3)
        if len(w) < 2:
            continue
        title = w[1] if len(w) == 3 else w[0]
        if not any(var for _, var in title):
            exact.add("".join(t for t, _ in title))
        else:
            patterns.append(re.compile("^" + "".join(
                "[^ ]+" if var else re.escape(t) for t, var in title) + "$"))
    return exact, patterns


def has_title(index, title):
    exact, patterns = index
    return title in exact or any(p.match(title) for p in patterns)


def cells(line):
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split("|")]


def main(argv):
    root = argv[1]
    matrix = argv[2] if len(argv) > 2 else os.path.join(root, "tests/FAULTS.md")
    with open(matrix, encoding="utf-8") as f:
        text = f.read()
    bad = []
    if BEGIN not in text or END not in text:
        sys.exit("%s: no table between %s and %s" % (matrix, BEGIN, END))
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    rows = [cells(l) for l in table.splitlines() if l.strip()]
    if len(rows) < 2 or rows[0] is None or rows[0][0] != "#":
        sys.exit("%s: the table has no header" % matrix)
    header, rows = rows[0], rows[2:]
    want = ["#", "fault", "tool", "test file", "test title", "expected", "result"]
    if header != want:
        sys.exit("%s: header %r, wanted %r" % (matrix, header, want))
    indexes = {}
    named = set()
    count = {"survived": 0, "lost": 0, "pending": 0}
    for n, row in enumerate(rows, 1):
        if row is None or len(row) != len(want):
            bad.append("row %d: expected %d cells" % (n, len(want)))
            continue
        num, fault, tool, path, title, expected, result = row
        where = "row %s (%s, %s)" % (num, fault, tool)
        if num != str(n):
            bad.append("%s: numbered %s, wanted %d" % (where, num, n))
        if not (title.startswith("`") and title.endswith("`") and len(title) > 2):
            bad.append("%s: the title must be in backquotes" % where)
            continue
        title = title[1:-1]
        if not fault or not tool or not expected:
            bad.append("%s: empty cell" % where)
        if not re.match(r"^tests/[A-Za-z0-9_/.-]+\.t$", path):
            bad.append("%s: %s is not a test file of make check" % (where, path))
            continue
        full = os.path.join(root, path)
        m = re.match(r"^pending: (\S+)$", result)
        if m:
            count["pending"] += 1
            if m.group(1) != path:
                bad.append("%s: pending on %s but names %s" % (where, m.group(1), path))
            if os.path.exists(full):
                bad.append("%s: %s exists now: name its real test and mark the "
                           "row survived or lost" % (where, path))
            continue
        if result not in ("survived", "lost"):
            bad.append("%s: result %r is not survived, lost or pending: FILE"
                       % (where, result))
            continue
        count[result] += 1
        if not os.path.exists(full):
            bad.append("%s: %s does not exist" % (where, path))
            continue
        if path not in indexes:
            indexes[path] = titles(full)
        if not has_title(indexes[path], title):
            bad.append("%s: no test titled %r in %s" % (where, title, path))
        named.add((path, title))
    for path in FAULT_FILES:
        full = os.path.join(root, path)
        if not os.path.exists(full):
            bad.append("%s does not exist" % path)
            continue
        exact, _ = titles(full)
        for t in sorted(exact - {t for p, t in named if p == path}):
            bad.append("%s: test %r has no row in the matrix" % (path, t))
    got = TOTALS.findall(text)
    injected = count["survived"] + count["lost"]
    line = "Totals: %d faults injected, %d survived, %d lost, %d pending." % (
        injected, count["survived"], count["lost"], count["pending"])
    if len(got) != 1:
        bad.append("%s: wanted one totals line, as: %s" % (matrix, line))
    elif tuple(int(x) for x in got[0]) != (injected, count["survived"],
                                            count["lost"], count["pending"]):
        bad.append("%s: the totals do not match the rows, which give: %s"
                   % (matrix, line))
    for b in bad:
        print("faults_matrix: " + b, file=sys.stderr)
    if bad:
        return 1
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
