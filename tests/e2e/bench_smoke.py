"""bench_smoke.py - the benchmark harness (bench/bench.py) works: a tiny run with
1 s durations produces every figure for the responder, the Node.js peer and the
limit, writes its table and JSON, and leaves no process behind, also when it
is stopped with SIGTERM halfway. No performance assertions.

Ends with "N passed, N failed"; skips ("0 passed, 0 failed") when nginx, wrk,
node or ss is missing.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import stack  # noqa: E402

BENCH = os.path.join(stack.ROOT, "bench", "bench.py")
WAITS = 20
TINY = ["--waits", str(WAITS), "--seconds", "1", "--rounds", "1", "--warmup", "1",
        "--hold-seconds", "1", "--hold-rounds", "1",
        "--poll-ms", "200", "--bin", stack.BIN]
ROWS = ("register req/s", "register: CPU-ms", "register non-2xx / p99", "CPU-s holding",
        "CPU-s taking", "memory per wait", "threads idle", "upstream connections", "waits held",
        "approvals created",
        "status polls/s", "CPU µs per status poll")


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def started_pids(out):
    return [int(p) for p in re.findall(r"started \S+ pid (\d+)", out)]


def check_figures(t, res):
    for what, ok in res["checks"].items():
        t.check(ok is True, f"functional check: {what}", ok)
    for path in ("responder", "node", "limit"):
        reg = res["register"][path]
        t.check(reg["rps"] > 0 and reg["non2xx"] == 0 and reg["p99"] != "?",
                f"register figures for {path}", reg)
        if path != "limit":
            t.check(reg["cpu_ms_per_call"] > 0, f"CPU per register call for {path}", reg)
        us = reg.get("us_per_call", {})
        own = [path] if path != "limit" else []
        parts = ["wrk", "front nginx", "upstream nginx"] + own
        t.check(all(us.get(k, 0) > 0 for k in parts + ["machine busy"]) and "other" in us,
                f"CPU per register call by process for {path}", us)
    for impl in ("responder", "node"):
        h = res["hold"][impl]
        t.check(h["held"] == WAITS and h["approvals_created"] >= WAITS
                and h["answered_early"] == 0, f"{impl} held every wait", h)
        t.check(h["rss_kib"] > 0 and h["threads"] > 0 and h["threads_idle"] > 0
                and h["cpu_hold_s"] >= 0 and h["cpu_ramp_s"] >= 0
                and isinstance(h["kib_per_wait"], float), f"{impl} hold figures", h)
        t.check(h["upstream_conns"] > 0 and h["polls_per_s"] > 0,
                f"{impl} upstream connections and polls seen", h)
        t.check(isinstance(h["us_per_poll"], float) and h["us_per_poll"] >= 0,
                f"{impl} CPU per status poll", h)
    t.check(res["upstream_bound"] > 0, "the responder's upstream bound read from its settings",
            res.get("settings"))


def full_run(t, work, env):
    results = os.path.join(work, "results")
    p = subprocess.run([sys.executable, BENCH] + TINY + ["--results", results],
                       capture_output=True, text=True, env=env, timeout=300)
    t.check(p.returncode == 0, "a tiny benchmark run exits 0", p.stdout[-3000:] + p.stderr[-3000:])
    latest = os.path.join(results, "latest.json")
    if not t.check(os.path.exists(latest), "results JSON written"):
        return
    check_figures(t, json.load(open(latest)))
    table = open(os.path.join(results, "latest.md")).read()
    t.check(all(r in table for r in ROWS) and "| met |" in table,
            "the table has every row, ratios and targets", table)
    t.check(all(f"\n| {path} | " in table for path in ("responder", "node", "limit"))
            and "| all busy | idle |" in table,
            "the table of CPU per register call by process has every path", table)
    t.check(table in p.stdout, "the table is printed")
    pids = started_pids(p.stdout)
    t.check(len(pids) == 6 and all(gone(x) for x in pids),
            "every process started (2 nginx, 2 responders, 2 Node) is stopped", pids)


def interrupted_run(t, work, env):
    p = subprocess.Popen([sys.executable, BENCH] + TINY + ["--results", work,
                                                          "--hold-seconds", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out, end = "", time.monotonic() + 120
    while "started responder-pending" not in out and time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            break
        out += line
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    out += p.communicate(timeout=60)[0]
    pids = started_pids(out)
    t.check(p.returncode != 0 and len(pids) >= 5, "SIGTERM during the hold ends the run",
            out[-2000:])
    t.check(all(gone(x) for x in pids), "SIGTERM leaves no process behind", pids)
    t.check(not os.path.exists(os.path.join(work, "latest.json")),
            "an interrupted run writes no results")


def main():
    t = stack.Counter()
    missing = [x for x in ("nginx", "wrk", "node", "ss") if not shutil.which(x)]
    if missing or not os.access(stack.BIN, os.X_OK):
        t.skip(f"missing {missing or stack.BIN}")
        return t.summary()
    work = tempfile.mkdtemp(prefix="b2c-bench-smoke-")
    try:
        env = dict(os.environ, B2C_AUTHY_CERTS=stack.make_certs(work))
        full_run(t, work, env)
        interrupted_run(t, os.path.join(work, "interrupted"), env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
