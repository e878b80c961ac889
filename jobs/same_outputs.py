#!/usr/bin/python3
"""Compare the outputs of two runs of the same jobs, file by file, bitwise:

    /usr/bin/python3 jobs/same_outputs.py BEFORE_DIR AFTER_DIR [--expected REGEX ...]

For every *.h5 file of BEFORE_DIR, the file of the same name in AFTER_DIR must hold the same
objects, every dataset with the same dtype, shape and bytes, and every attribute the same value.
For every *.json and *.metrics.txt file, the contents must be equal. What records when, where
and by which build a file was made is left out: /code (version, git revision), the wall-time
column /monitor/wall_time, and JSON keys and text lines that hold seconds. Prints one line per
difference and a summary; exits 1 if anything differs. Used to show that a change of structure
changes no result. --expected REGEX (repeatable) names intended differences (an attribute a
change adds, say): a difference whose line matches is counted apart and does not fail.
"""
import json
import os
import re
import sys

import h5py
import numpy as np

SKIP_OBJECTS = re.compile(r"^(code(/.*)?|monitor/wall_time|timers(/.*)?)$")
SKIP_JSON = re.compile(r"(seconds|wall|time|elapsed)", re.I)
SKIP_LINE = re.compile(r"(seconds| s$|wall|elapsed)", re.I)


# Paths of the BEFORE folder stand for the AFTER folder's (outputs record their own paths).
RENAME = [b"", b""]


def moved(v):
    if isinstance(v, bytes) and RENAME[0]:
        return v.replace(RENAME[0], RENAME[1])
    if isinstance(v, str) and RENAME[0]:
        return v.replace(RENAME[0].decode(), RENAME[1].decode())
    return v


def attrs(obj):
    out = {}
    for k, v in obj.attrs.items():
        v = moved(v.tobytes() if isinstance(v, np.ndarray) else v)
        if k == "report":  # the integrate report (JSON): timings left out
            try:
                v = json.dumps(strip_json(json.loads(v)), sort_keys=True)
            except ValueError:
                pass
        out[k] = v
    return out


def h5_items(path):
    items = {}
    with h5py.File(path, "r") as f:
        items["/"] = ("group", attrs(f), None)

        def visit(name, obj):
            if SKIP_OBJECTS.match(name):
                return
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                raw = moved(data.tobytes() if isinstance(data, np.ndarray) else repr(data))
                items[name] = (f"dataset {obj.dtype} {obj.shape}", attrs(obj), raw)
            else:
                items[name] = ("group", attrs(obj), None)

        f.visititems(visit)
    return items


def compare_h5(a, b, say):
    ia, ib = h5_items(a), h5_items(b)
    bad = 0
    for name in sorted(set(ia) | set(ib)):
        if name not in ia or name not in ib:
            say(f"{name}: only in {'after' if name in ib else 'before'}")
            bad += 1
            continue
        (ka, aa, da), (kb, ab, db) = ia[name], ib[name]
        if ka != kb:
            say(f"{name}: {ka} vs {kb}")
            bad += 1
        elif da != db:
            say(f"{name}: values differ")
            bad += 1
        for k in sorted(set(aa) | set(ab)):
            if k not in aa or k not in ab or not np.array_equal(np.asarray(aa[k]), np.asarray(ab[k])):
                say(f"{name}@{k}: {aa.get(k)!r} vs {ab.get(k)!r}")
                bad += 1
    return bad


def strip_json(v):
    if isinstance(v, dict):
        return {k: strip_json(x) for k, x in v.items() if not SKIP_JSON.search(k)}
    if isinstance(v, list):
        return [strip_json(x) for x in v]
    return v


def compare_json(a, b, say):
    with open(a) as fa, open(b) as fb:
        ja = strip_json(json.loads(moved(fa.read())))
        jb = strip_json(json.load(fb))
    if ja != jb:
        say("contents differ")
        return 1
    return 0


def compare_text(a, b, say):
    with open(a) as fa, open(b) as fb:
        la = [x for x in fa.read().splitlines() if not SKIP_LINE.search(x)]
        lb = [x for x in fb.read().splitlines() if not SKIP_LINE.search(x)]
    if la != lb:
        say("contents differ")
        return 1
    return 0


def main():
    args, expected = [], []
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--expected" and argv:
            expected.append(re.compile(argv.pop(0)))
        else:
            args.append(a)
    if len(args) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    before, after = args
    RENAME[0] = os.path.abspath(before).encode() + b"/"
    RENAME[1] = os.path.abspath(after).encode() + b"/"
    files = sorted(f for f in os.listdir(before)
                   if f.endswith((".h5", ".json", ".metrics.txt")))
    if not files:
        sys.exit(f"same_outputs.py: {before} holds no *.h5, *.json or *.metrics.txt file")
    total = 0
    intended = 0
    for name in files:
        a, b = os.path.join(before, name), os.path.join(after, name)
        counts = [0]

        def say(msg, name=name, counts=counts):
            line = f"{name}: {msg}"
            if any(e.search(line) for e in expected):
                print(f"{line} (expected)")
                counts[0] += 1
            else:
                print(line)

        if not os.path.exists(b):
            say("missing after")
            total += 1
            continue
        if name.endswith(".h5"):
            n = compare_h5(a, b, say)
        elif name.endswith(".json"):
            n = compare_json(a, b, say)
        else:
            n = compare_text(a, b, say)
        n -= counts[0]
        intended += counts[0]
        total += n
        if n == 0:
            print(f"{name}: same" + (" apart from the expected" if counts[0] else ""))
    print(f"{len(files)} files compared, {total} differences, {intended} expected")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
