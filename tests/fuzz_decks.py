#!/usr/bin/python3
"""Fuzz test of the deck parser and the command line: seeded mutations of the shipped decks.

Usage: fuzz_decks.py GPA MPIEXEC SRC [--seed S] [--cases N] [--only K] [--jobs J] [--keep DIR]
                      [--verbose]

Takes every shipped deck (inputs/*.yml, inputs/paper/*.yml, tests/decks/*.yml,
tests/bad_inputs/*.yml), makes N seeded mutations of them (byte flips, deleted, duplicated and
swapped lines, truncation, inserted `---`/`...` documents, deep flow and block nesting, huge
numbers, NaN and infinities, unicode and invalid UTF-8, tabs, anchors and tags, misspelt keys,
oversized decks, -P overrides with odd values or malformed syntax) and runs
`gpa run DECK --dry-run` (or `gpa integrate DECK --dry-run`) on each: most on 1 rank (an MPI
singleton), every tenth under `mpiexec -n 2`.  Each case runs in an empty directory of its own,
with a timeout.  After them come 16 fixed cases with a known answer (the fault trials'
findings: a -P value with a newline, sizes beyond memory, several YAML documents, empty decks,
an integrate deck given to `gpa run`, 100 000 levels of nesting, malformed -P, and `{}`), which
must end with their stated exit status; one that is accepted is a "bad deck accepted" failure.

A case passes when gpa exits 0, or exits with a documented bad-input or usage status (1 or 2)
after printing exactly one line, `error: ...`, on stderr that names the deck or the -P option.
It fails on a signal or another status (crash / unclear error), a timeout (hang), a message of
several lines or one that names neither (unclear error), or a file left in its directory
(partial output).  The counts per category are printed; the exit status is 1 when any case
failed, and each failure is printed with the command that reproduces it (--only K --keep DIR
writes its deck).  Needs no Python packages beyond the standard library.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 10.0  # seconds per case; a dry run takes ~0.2 s
DEFAULT_SEED = 20260611
DEFAULT_CASES = 250

CATEGORIES = ["held up", "clean one-line error", "unclear error", "crash", "hang",
              "partial output", "bad deck accepted"]
FAILING = {"unclear error", "crash", "hang", "partial output", "bad deck accepted"}

HUGE_NUMBERS = ["1e300", "-1e300", "1e400", "-1e400", "99999999999999999999",
                "-9223372036854775809", "9223372036854775807", "4611686018427387904",
                "100000000000000", "1e14", "1e9", "0x7fffffffffffffff", "1_000_000",
                "2.5e-400", "0.1e999", "1e-320", "-0", "+7", "007", "1.", ".5", "1e", "--1"]
NAN_LIKE = [".nan", ".NaN", "NaN", "nan", ".inf", "-.inf", "+.inf", "inf", "-inf", "Infinity",
            "1e999", "~", "null", "", "''", '""', "true", "[]", "{}"]
UNICODE = ["é".encode(), "日本語".encode(), "\u202e".encode(), "\ufeff".encode(),
           "\U0001F600".encode(), "\u0085".encode(), "\u2028".encode(), "\u00a0".encode(),
           b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\x1b[31m", b"\r", b"\x7f"]
YAML_BITS = ["--- ", "...", "---", "%YAML 1.1", "%TAG ! tag:x,2000:", "&a ", "*a", "!!str ",
             "!!python/object:os.system ", "<<: *a", "? ", ": ", "- ", "[", "]", "{", "}", ",",
             "#", "|", ">", "'", '"', "@", "`", "%", "!", "&", "*", "key: value: other"]
ODD_VALUES = ["", "\n", "1\n2", "a\tb", "1e999", "-1e999", "nan", ".nan", "inf", "-0", "0x10",
              "1_000", "99999999999999999999", "-9223372036854775809", "[", "[1,2", "[1e9,1e9]",
              "[" + ",".join(["1"] * 40) + "]", "x" * 3000, "é ünï", "\u202e", "=", "a=b",
              "'quoted'", '"x"', "null", "~", "true", "{a: 1}", "-8", "1e14", "\x01", " 1",
              "1 ", "[-8]", "[0]", "1,2,3", ",", "[]", "../../etc/passwd", "/", "."]
MALFORMED_P = ["foo", "a.b.c=1", ".x=1", "x.=1", "transport.dt", "=1", "", ".", "..=", "a..b=1"]


def reference_keys(src):
    """Every section.key of inputs/reference.yml (set or commented out)."""
    keys, section = [], None
    with open(os.path.join(src, "inputs", "reference.yml"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\w+):\s*$", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^  (?:# )?(\w+): ", line)
            if m and section and not line.startswith("  # range") and \
                    not line.startswith("  # used by") and not line.startswith("  # one of"):
                keys.append(section + "." + m.group(1))
    return sorted(set(keys))


def seed_decks(src):
    decks = []
    for pattern in ["inputs", "inputs/paper", "tests/decks", "tests/bad_inputs"]:
        d = os.path.join(src, pattern)
        for name in sorted(os.listdir(d)):
            if name.endswith(".yml"):
                with open(os.path.join(d, name), "rb") as f:
                    decks.append((pattern + "/" + name, f.read()))
    return decks


# ----------------------------------------------------------------------------- mutations

def lines_of(text):
    return text.split(b"\n")


def m_byte_flip(rng, text, keys):
    b = bytearray(text)
    for _ in range(rng.randint(1, 8)):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b), []


def m_delete_line(rng, text, keys):
    ls = lines_of(text)
    for _ in range(rng.randint(1, 3)):
        if len(ls) > 1:
            del ls[rng.randrange(len(ls))]
    return b"\n".join(ls), []


def m_duplicate_line(rng, text, keys):
    ls = lines_of(text)
    i = rng.randrange(len(ls))
    ls.insert(i, ls[i])
    return b"\n".join(ls), []


def m_swap_lines(rng, text, keys):
    ls = lines_of(text)
    i, j = rng.randrange(len(ls)), rng.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return b"\n".join(ls), []


def m_truncate(rng, text, keys):
    return text[:rng.randrange(len(text) + 1)], []


def m_documents(rng, text, keys):
    ls = lines_of(text)
    sep = rng.choice([b"---", b"...", b"--- ", b"---\n---", b"...\n---", b"--- {}", b"--- !!str x"])
    ls.insert(rng.randrange(len(ls) + 1), sep)
    if rng.random() < 0.5:  # content after it
        ls.append(rng.choice([b"source: {n: 30}", b"transport: {dt: -5}", b"garbage: [",
                              b"- 1", b"x", b"run:", b"# only a comment"]))
    return b"\n".join(ls), []


def value_positions(text):
    """Spans of the values of `key: value` lines."""
    return [m.span(2) for m in re.finditer(rb"(?m)^( *\w+: *)([^\n#]+)", text)]


def replace_value(rng, text, new):
    spans = value_positions(text)
    if not spans:
        return text + b"\nnetwork: {widths: " + new + b"}\n"
    a, b = rng.choice(spans)
    return text[:a] + new + text[b:]


def m_deep_flow(rng, text, keys):
    depth = rng.choice([9, 20, 100, 1000, 5000, 100000])
    kind = rng.random()
    if kind < 0.6:
        new = b"[" * depth + b"1" + b"]" * depth
    elif kind < 0.8:
        new = b"{a: " * depth + b"1" + b"}" * depth
    else:
        new = b"[" * depth  # unclosed
    return replace_value(rng, text, new), []


def m_deep_block(rng, text, keys):
    depth = rng.choice([9, 30, 200])
    if rng.random() < 0.5:
        block = b"".join(b" " * i + b"k%d:\n" % i for i in range(depth)) + b" " * depth + b"1\n"
    else:
        block = b"network:\n  widths:\n    " + b"- " * depth + b"8\n"
    return text + b"\n" + block, []


def m_huge_number(rng, text, keys):
    nums = list(re.finditer(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])", text))
    new = rng.choice(HUGE_NUMBERS).encode()
    if not nums:
        return text + b"\nsource: {n: " + new + b"}\n", []
    m = rng.choice(nums)
    return text[:m.start()] + new + text[m.end():], []


def m_nan(rng, text, keys):
    return replace_value(rng, text, rng.choice(NAN_LIKE).encode()), []


def m_unicode(rng, text, keys):
    b = text
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b) + 1)
        b = b[:i] + rng.choice(UNICODE) + b[i:]
    return b, []


def m_tabs(rng, text, keys):
    ls = lines_of(text)
    idx = [i for i, l in enumerate(ls) if l.startswith(b"  ")]
    if not idx:
        return text.replace(b" ", b"\t", 1), []
    for i in rng.sample(idx, min(len(idx), rng.randint(1, 3))):
        ls[i] = b"\t" + ls[i].lstrip(b" ")
    return b"\n".join(ls), []


def m_yaml_bits(rng, text, keys):
    b = text
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(b) + 1)
        b = b[:i] + rng.choice(YAML_BITS).encode() + b[i:]
    return b, []


def m_misspell(rng, text, keys):
    ks = list(re.finditer(rb"(?m)^( *)(\w+):", text))
    if not ks:
        return text, []
    m = rng.choice(ks)
    word = bytearray(m.group(2))
    op = rng.randrange(3)
    i = rng.randrange(len(word))
    if op == 0:
        del word[i]
    elif op == 1:
        word.insert(i, rng.choice(b"abcxyz_"))
    else:
        word = word + b"s"
    return text[:m.start(2)] + bytes(word) + text[m.end(2):], []


def m_oversize(rng, text, keys):
    if rng.random() < 0.5:
        return text + b"\n" + b"# padding\n" * 120000, []  # 1.2 MB of comments
    return b"{}\n" + b" " * (rng.choice([1 << 20, (1 << 20) + 1, 1 << 21]) - 3), []


def m_empty(rng, text, keys):
    return rng.choice([b"", b"\n\n", b"# nothing\n", b"---\n", b"---\n...\n", b"{}\n", b"~\n",
                       b"[]\n", b"run:\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf{}\n"]), []


def m_override(rng, text, keys):
    args = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.2:
            args += ["-P", rng.choice(MALFORMED_P)]
        elif r < 0.3:
            args += ["-P" + rng.choice(keys) + "=" + rng.choice(ODD_VALUES)]  # -Pkey=value
        else:
            args += ["-P", rng.choice(keys) + "=" + rng.choice(ODD_VALUES)]
    if rng.random() < 0.1:
        args += [rng.choice(["--bogus", "--output", "--restart", "-P", "--overwrite"])]
    return text, args


MUTATIONS = [
    (m_byte_flip, 12), (m_delete_line, 6), (m_duplicate_line, 6), (m_swap_lines, 4),
    (m_truncate, 8), (m_documents, 8), (m_deep_flow, 5), (m_deep_block, 3), (m_huge_number, 8),
    (m_nan, 6), (m_unicode, 6), (m_tabs, 4), (m_yaml_bits, 8), (m_misspell, 5), (m_oversize, 1),
    (m_empty, 2), (m_override, 12),
]


def make_cases(seed, n, decks, keys):
    """The cases, a pure function of the seed: (name, deck bytes, extra args, command, ranks)."""
    rng = random.Random(seed)
    funcs = [f for f, w in MUTATIONS for _ in range(w)]
    cases = []
    for k in range(n):
        origin, text = rng.choice(decks)
        applied, args = [], []
        for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
            f = rng.choice(funcs)
            text, extra = f(rng, text, keys)
            args += extra
            applied.append(f.__name__[2:])
        integrate_deck = re.search(rb"source_file: *[^\s\"']", text) is not None
        command = "integrate" if integrate_deck else "run"
        if rng.random() < 0.1:  # the other command on purpose
            command = "run" if integrate_deck else "integrate"
        ranks = 2 if k % 10 == 9 else 1
        cases.append({"k": k, "origin": origin, "mutations": "+".join(applied), "deck": text,
                      "args": args, "command": command, "ranks": ranks})
    return cases + directed_cases(n, decks)


def directed_cases(first, decks):
    """Fixed cases with a known answer (the fault trials' findings): `status` is the exit status
    they must end with (0: accepted)."""
    mog = dict(decks)["inputs/mog2d.yml"]
    bb = dict(decks)["inputs/bladderbatch.yml"]
    deep = b"network: {widths: " + b"[" * 100000 + b"]" * 100000 + b"}\n"
    spec = [
        ("P newline", mog, ["-P", "transport.dt=1\n2"], "run", 1, 1),
        ("n 1e14", b"source: {n: 100000000000000}\n", [], "run", 1, 1),
        ("n 1e14", b"source: {n: 100000000000000}\n", [], "run", 2, 1),
        ("widths 1e9", b"network: {widths: [1e9, 1e9]}\n", [], "run", 1, 1),
        ("dim 1e9", b"source: {dim: 1e9}\ntarget: {dim: 1e9}\n", [], "run", 1, 1),
        ("two documents", b"source: {n: 20}\n---\nsource: {n: 30}\ntransport: {dt: -5}\n", [],
         "run", 1, 1),
        ("document end", b"source: {n: 20}\n...\ngarbage: [\n", [], "run", 2, 1),
        ("comments only", b"# a deck\n\n# truncated\n", [], "run", 1, 1),
        ("no bytes", b"", [], "run", 1, 1),
        ("integrate deck to run", bb, [], "run", 1, 1),
        ("run deck to integrate", mog, [], "integrate", 1, 1),
        ("100000 levels", deep, [], "run", 1, 1),
        ("P three names", mog, ["-P", "a.b.c=1"], "run", 1, 2),
        ("P no =", mog, ["-P", "foo"], "run", 1, 2),
        ("defaults", b"{}\n", [], "run", 1, 0),
        ("trailing ---", mog + b"\n---\n", [], "run", 1, 0),
    ]
    return [{"k": first + i, "origin": "directed", "mutations": name, "deck": deck, "args": args,
             "command": cmd, "ranks": ranks, "status": status}
            for i, (name, deck, args, cmd, ranks, status) in enumerate(spec)]


# ----------------------------------------------------------------------------- running

def run_case(case, gpa, mpiexec, keep):
    top = tempfile.mkdtemp(prefix="gpa_fuzz_")
    try:
        deck_dir, work = os.path.join(top, "deck"), os.path.join(top, "work")
        os.mkdir(deck_dir)
        os.mkdir(work)
        deck = os.path.join(deck_dir, "fuzz%03d.yml" % case["k"])
        with open(deck, "wb") as f:
            f.write(case["deck"])
        cmd = [gpa, case["command"], deck, "--dry-run"] + case["args"]
        if case["ranks"] > 1:
            cmd = [mpiexec, "-q", "-n", str(case["ranks"])] + cmd
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT, start_new_session=True)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            rc, err = None, (e.stderr or b"").decode("utf-8", "replace")
        seconds = time.monotonic() - t0
        left = sorted(os.listdir(work)) + [n for n in os.listdir(deck_dir)
                                           if n != os.path.basename(deck)]
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(deck, keep)
        return classify(case, rc, err, left, os.path.basename(deck)), rc, err, left, seconds, cmd
    finally:
        shutil.rmtree(top, ignore_errors=True)


def classify(case, rc, err, left, deck_name):
    if rc is None:
        return "hang"
    if left:
        return "partial output"
    if rc < 0 or rc >= 128 or rc in (134, 136, 139):
        return "crash"
    lines = [l for l in err.split("\n") if l != ""]
    if rc == 0 and case.get("status", 0) != 0:
        return "bad deck accepted"
    if "status" in case and rc != case["status"]:
        return "unclear error"
    if rc == 0:
        # warnings are fine; anything else on stderr is not
        return "held up" if all(l.startswith("warning: ") for l in lines) else "unclear error"
    if rc not in (1, 2) or len(lines) != 1 or not lines[0].startswith("error: "):
        return "unclear error"
    msg = lines[0]
    names_it = (deck_name in msg or "-P" in msg or "option" in msg or "argument" in msg or
                "--" in msg)
    return "clean one-line error" if names_it else "unclear error"


def shell_quote(s):
    if re.fullmatch(r"[\w@%+=:,./-]+", s):
        return s
    return "$'" + "".join(c if c.isprintable() and c not in "'\\" else "\\x%02x" % ord(c)
                          if ord(c) < 256 else c for c in s) + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gpa")
    ap.add_argument("mpiexec")
    ap.add_argument("src")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("GPA_FUZZ_SEED", DEFAULT_SEED)))
    ap.add_argument("--cases", type=int, default=DEFAULT_CASES)
    ap.add_argument("--only", type=int, default=None, help="run case K only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", default=None, help="copy the decks of the cases run here")
    ap.add_argument("--verbose", action="store_true", help="one line per case")
    a = ap.parse_args()
    gpa, src = os.path.realpath(a.gpa), os.path.realpath(a.src)
    decks, keys = seed_decks(src), reference_keys(src)
    cases = make_cases(a.seed, a.cases, decks, keys)
    if a.only is not None:
        cases = [cases[a.only]]
    n_directed = sum(1 for c in cases if "status" in c)
    print("fuzz_decks: seed %d, %d cases from %d decks and %d keys, %d at a time"
          % (a.seed, len(cases), len(decks), len(keys), a.jobs), flush=True)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        results = list(pool.map(lambda c: run_case(c, gpa, a.mpiexec, a.keep), cases))
    counts = {c: 0 for c in CATEGORIES}
    by_ranks = {1: 0, 2: 0}
    slowest = 0.0
    failures = 0
    for case, (cat, rc, err, left, seconds, cmd) in zip(cases, results):
        counts[cat] += 1
        by_ranks[case["ranks"]] = by_ranks.get(case["ranks"], 0) + 1
        slowest = max(slowest, seconds)
        if a.verbose:
            print("case %d: %s: %s of %s, %s, exit %s: %s"
                  % (case["k"], cat, case["mutations"], case["origin"], case["command"], rc,
                     err.strip().replace("\n", " | ")[:200]))
        if cat in FAILING:
            failures += 1
            print("FAIL case %d (%s): %s of %s, %s on %d rank(s), exit %s, %.1f s"
                  % (case["k"], cat, case["mutations"], case["origin"], case["command"],
                     case["ranks"], "timeout" if rc is None else rc, seconds))
            print("  stderr: %r" % err[:600])
            if left:
                print("  left behind: %s" % left)
            print("  command: %s" % " ".join(shell_quote(c) for c in cmd))
            print("  deck (%d bytes): %r" % (len(case["deck"]), case["deck"][:300]))
            print("  reproduce: /usr/bin/python3 %s %s %s %s --seed %d --cases %d --only %d "
                  "--keep DIR" % (os.path.relpath(__file__), a.gpa, a.mpiexec, a.src, a.seed,
                                  a.cases, case["k"]))
    print("by category (%d cases, %d of them fixed ones with a known answer: %d on 1 rank, %d on "
          "2 ranks; %.1f s, slowest case %.1f s):"
          % (len(cases), n_directed, by_ranks.get(1, 0), by_ranks.get(2, 0),
             time.monotonic() - t0, slowest))
    for c in CATEGORIES:
        print("  %-22s %4d" % (c, counts[c]))
    if failures:
        print("%d case(s) failed; seed %d" % (failures, a.seed))
        return 1
    print("every case held up or ended in a clean one-line error (exit 1 or 2); seed %d" % a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
