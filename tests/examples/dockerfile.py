#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Reads the last stage of a Dockerfile the way `docker inspect` would
report the image's Config: ENTRYPOINT and CMD (exec form only: a shell
form is an error, it would break the ENTRYPOINT chain), WORKDIR and ENV.

    dockerfile.py DOCKERFILE                    the Config as JSON
    dockerfile.py DOCKERFILE --image NAME --workdir DIR
        the Marathon emulator's --images file: NAME -> Config, with
        WorkingDir replaced by DIR (where the image's files are on this
        machine)
"""
import json
import shlex
import sys


def instructions(text):
    """(INSTRUCTION, arguments) with continuation lines joined."""
    line = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not line and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            line += stripped[:-1] + " "
            continue
        line += stripped
        word, _, rest = line.partition(" ")
        yield word.upper(), rest.strip()
        line = ""


def config(path):
    cfg = {"Entrypoint": None, "Cmd": None, "WorkingDir": "", "Env": []}
    with open(path) as f:
        text = f.read()
    for word, rest in instructions(text):
        if word == "FROM":
            cfg = {"Entrypoint": None, "Cmd": None, "WorkingDir": "", "Env": []}
        elif word in ("ENTRYPOINT", "CMD"):
            try:
                value = json.loads(rest)
            except ValueError:
                value = None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                sys.exit("dockerfile.py: %s: %s is not in exec form (a JSON array): %s"
                         % (path, word, rest))
            cfg["Entrypoint" if word == "ENTRYPOINT" else "Cmd"] = value
            if word == "ENTRYPOINT":
                cfg["Cmd"] = None   # as docker: a new ENTRYPOINT resets CMD
        elif word == "WORKDIR":
            cfg["WorkingDir"] = rest
        elif word == "ENV":
            parts = shlex.split(rest)
            if parts and "=" not in parts[0]:
                cfg["Env"].append("%s=%s" % (parts[0], " ".join(parts[1:])))
            else:
                cfg["Env"].extend(parts)
    return cfg


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cfg = config(argv[0])
    opts = dict(zip(argv[1::2], argv[2::2]))
    if "--image" in opts:
        cfg["WorkingDir"] = opts.get("--workdir", cfg["WorkingDir"])
        cfg = {opts["--image"]: cfg}
    json.dump(cfg, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
