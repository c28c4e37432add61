"""churn.py - long-run stability under mixed traffic: one responder against
the mock Authy serves two identical rounds of a few thousand mixed requests
from several clients at once: registrations (good and refused), approved,
denied and expired waits, waits the client abandons mid-way, B2C retries
that re-attach to their push and are woken by a signed callback, 503 while
max_waits requests wait, upstream faults of every kind (errors, stalls,
resets, garbage, rate limits), bad JSON and oversized bodies, right and wrong
one-time codes, /metrics and /healthz. Every reply must be one its request
allows. After each round (and a sweep that resolves every push left pending
and delivers its callback) the process must be back at its baseline: threads,
file descriptors, and the /metrics gauges (pending approvals, waiting
requests, requests in flight, open connections, upstream calls in use and
queued). The anonymous resident memory after round 2 must not exceed the one
after round 1 by RSS_GROWTH_KIB or more: room for what the responder keeps by
design (approvals until they expire, push and code counts) and for free memory
the allocator keeps, not for a leak per request (not checked under valgrind or
AddressSanitizer, whose allocators hold on to freed memory). Ends with
"N passed, N failed".
"""
import collections
import json
import os
import random
import re
import select
import shutil
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import e2e  # noqa: E402
import stack  # noqa: E402

SLOW = stack.wrapper() != []
BUDGET_MS = 1500 if not SLOW else 5000
POLL_MS = 100
MAX_WAITS = 6
MAX_BODY = 4096
UPSTREAM_TIMEOUT_MS = 800 if not SLOW else 3000
CLIENTS = 8
OPS = 1200 if not SLOW else 150  # mixed requests per round (plus sweeps and faults)
RSS_GROWTH_KIB = 512
TASK_SLACK = 1
FD_SLACK = 2  # a descriptor may still be closing
CALLBACK_URL = "https://b2c.example.com/api/authy/callback"
VERIFY_TOKEN = "/api/identity/verifytoken"
POOL = 4  # users per kind of push behaviour
GAUGES = ("pending_approvals", "waiting_requests", "requests_in_flight", "open_connections",
          "upstream_connections_in_use", "upstream_calls_queued")
# What a gauge reads at rest: the /metrics request itself is in flight on its connection.
AT_REST = {"requests_in_flight": 1, "open_connections": 1}
MSG = e2e.MSG
# Fixed allocator thresholds: glibc raises them as large blocks come and go, and
# then keeps more free memory resident, which would look like growth.
MALLOC_ENV = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072:"
                                "glibc.malloc.trim_threshold=131072"}


def wrong_code(i):
    """A code the app never shows (9 digits, Authy's are 7) and no log line carries by
    chance, as an authyId might: the log scan looks for every code sent."""
    return f"97{i:07d}"


def anon_rss(pid):
    """Resident anonymous memory in KiB (heap, mappings), without the binary's
    static zero-initialised tables (.bss): the callback replay table there has
    its pages touched one by one as callbacks come, up to its fixed size."""
    binary = os.path.realpath(stack.BIN)
    total, prev_path, anon, path = 0, None, False, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                fields = line.split()
                path = fields[5] if len(fields) > 5 else ""
                anon = path in ("", "[heap]") and prev_path != binary
                prev_path = path
            elif line.startswith("Rss:") and anon:
                total += int(line.split()[1])
    return total


class Failures:
    """Thread-safe tally of the replies each kind of request got, and the odd ones."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = collections.Counter()
        self.bad = []

    def note(self, kind, ok, detail):
        with self.lock:
            self.seen[(kind, ok)] += 1
            if not ok and len(self.bad) < 20:
                self.bad.append(f"{kind}: {detail}")


class Churn:
    def __init__(self, work, certs, mock):
        tp = stack.thumbprints(certs)
        self.certs = certs
        self.cert = stack.cert_params(certs, "client")
        self.mock = mock
        self.resp = stack.Responder(work, {
            "authy_api_key": stack.API_KEY, "authy_api_url": mock.url,
            "authy_ca_file": os.path.join(certs, "ca.pem"),
            "client_cert_thumbprints": tp["client"], "wait_budget_ms": BUDGET_MS,
            "poll_interval_ms": POLL_MS, "approval_ttl_s": 60, "upstream_connections": 4,
            "upstream_timeout_ms": UPSTREAM_TIMEOUT_MS,
            "upstream_connect_timeout_ms": UPSTREAM_TIMEOUT_MS, "max_waits": MAX_WAITS,
            "max_connections": 64, "max_body_bytes": MAX_BODY, "max_pushes_per_user": 1000,
            "push_window_s": 60, "max_code_attempts": 100, "code_window_s": 60,
            "callback_url": CALLBACK_URL, "log_level": "warn"}, name="churn", env=MALLOC_ENV)
        self.sock = self.resp.sock
        self.users = {}
        self.reg_ids = {}  # phone number -> the authyId its first registration got
        self.delivered = set()  # callback nonces+uuids already sent to the responder
        self.seq = 0
        self.lock = threading.Lock()
        self.f = Failures()

    # ---- requests ----

    def next_id(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def post(self, path, body, cert=True, ctype="application/json"):
        return stack.fcgi_raw(self.sock, "POST", path, self.cert if cert else {}, body, ctype,
                              timeout=30 * (4 if SLOW else 1))

    def get(self, path):
        return stack.fcgi_raw(self.sock, "GET", path, {}, b"", None, timeout=30)

    def register(self, email, phone):
        return self.post(e2e.REGISTER, json.dumps({"email": email, "phoneNumber": phone}))

    def wait_body(self, aid, who):
        return e2e.wait_body(aid, sign_in=who)

    def wait(self, aid, who):
        return self.post(e2e.WAIT, self.wait_body(aid, who))

    def start(self, path, body):
        """A request sent whole on a connection of its own; the caller reads or drops it."""
        env = stack.fcgi_env("POST", path, self.cert, body.encode(), "application/json")
        env.pop("PATH", None)
        s = stack.unix_connect(self.sock, 30)
        s.sendall(stack._fcgi_record(stack.FCGI_BEGIN, struct.pack(">HB5x", 1, 0)) +
                  stack._fcgi_params(env) + stack._fcgi_record(stack.FCGI_STDIN, body.encode()) +
                  stack._fcgi_record(stack.FCGI_STDIN, b""))
        return s

    def finish(self, s):
        out = b""
        started = time.monotonic()
        try:
            for rtype, _, content in stack.fcgi_records(s):
                if rtype == stack.FCGI_STDOUT:
                    out += content
                if rtype == stack.FCGI_END:
                    break
        finally:
            s.close()
        return stack.Reply(out, time.monotonic() - started)

    def verify(self, aid, code):
        stack.ONE_TIME_CODES.add(code)
        return self.post(VERIFY_TOKEN, json.dumps({
            "authyId": aid, "token": code, "signInName": "code-user",
            "correlationId": f"c0de{self.next_id():08d}-0000-4000-8000-000000000000"}))

    def metrics(self):
        text = self.get("/metrics").body.decode(errors="replace")
        return {m.group(1): float(m.group(2))
                for m in re.finditer(r"^b2c_authy_(\w+) (\S+)$", text, re.M)}

    def resources(self):
        pid = self.resp.pid()
        return (len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd")),
                anon_rss(pid))

    # ---- what a reply may be ----

    def expect(self, kind, r, allowed):
        """allowed: (status, message name or None) pairs; None = any B2C-shaped body."""
        j = r.json if isinstance(r.json, dict) else {}
        ok = any(r.status == st and (m is None or j.get("userMessage") == MSG[m])
                 for st, m in allowed)
        if ok and r.status >= 400:
            ok = e2e.b2c_shaped(r)
        if ok and r.status == 503:
            ok = r.headers.get("retry-after") is not None
        self.f.note(kind, ok, repr(r))
        return ok

    # ---- users ----

    def user(self, prefix, phone, app=False):
        r = self.register(f"{prefix}@example.com", phone)
        aid = (r.json or {}).get("authyId") if isinstance(r.json, dict) else None
        if r.status != 200 or aid is None:
            raise RuntimeError(f"register {prefix}: {r!r}")
        if app:
            self.mock.call("POST", f"/_mock/users/{aid}/app")
        return aid

    def make_users(self):
        kinds = ("autoapprove30", "autodeny30", "autoexpire30", "never", "nevercodes")
        for k, kind in enumerate(kinds):
            self.users[kind] = [self.user(f"{kind}.churn{i}", f"+1 415 555 {k}{i:03d}",
                                          app=kind == "nevercodes") for i in range(POOL)]

    # ---- the mixed requests ----

    def op_register(self, rnd, i):
        phone = f"+1 628 555 {i % 50:04d}"
        r = self.register(f"never.reg{i % 50}@example.com", phone)
        if self.expect("register", r, [(200, None)]):
            # Authy gives a phone number one id: any other reply (no id, another's id)
            # is not this registration's.
            aid = r.json.get("authyId") if isinstance(r.json, dict) else None
            with self.lock:
                first = self.reg_ids.setdefault(phone, aid)
            if r.json != {"authyId": first} or not re.fullmatch(r"[0-9]+", str(aid)):
                self.f.note("register", False, f"{r!r}, {first!r} before")

    def op_register_bad(self, rnd, i):
        r = self.register(f"never.bad{i}@example.com", "+1 555")
        self.expect("register refused", r, [(409, "B2C_MSG_PHONE_INVALID")])

    def op_bad_json(self, rnd, i):
        r = self.post(random.choice((e2e.REGISTER, e2e.WAIT, VERIFY_TOKEN)),
                      random.choice(('{"email": ', "[1,2]", "{'a':1}", '{"a":1} x')))
        self.expect("bad json", r, [(400, "B2C_MSG_BAD_REQUEST")])

    def op_oversize(self, rnd, i):
        body = json.dumps({"email": "a@example.com", "pad": "x" * (MAX_BODY + 100 + i % 7000)})
        r = self.post(e2e.REGISTER, body)
        self.expect("oversize", r, [(413, "B2C_MSG_TOO_LARGE")])

    def op_no_cert(self, rnd, i):
        r = self.post(e2e.WAIT, self.wait_body("1234567", f"nocert-{i}"), cert=False)
        self.expect("no client cert", r, [(403, "B2C_MSG_FORBIDDEN")])

    def op_health(self, rnd, i):
        r = self.get("/healthz")
        self.f.note("healthz", r.status == 200 and r.json == {"status": "ok"}, repr(r))

    def op_metrics(self, rnd, i):
        r = self.get("/metrics")
        self.f.note("metrics", r.status == 200 and b"b2c_authy_requests_total" in r.body,
                    repr(r))

    def op_wait_outcome(self, kind, msg):
        def op(rnd, i):
            aid = self.users[kind][i % POOL]
            r = self.wait(aid, f"{kind}-{rnd}-{i}")
            ok = [(409, msg)] if msg else [(200, None)]
            self.expect(f"wait {kind}", r, ok + [(503, "B2C_MSG_UNAVAILABLE")])
            if r.status == 200 and r.json != {"authyApproved": True}:
                self.f.note(f"wait {kind}", False, repr(r))
        return op

    def op_abort(self, rnd, i):
        s = self.start(e2e.WAIT, self.wait_body(self.users["never"][i % POOL],
                                                f"abort-{rnd}-{i}"))
        time.sleep(random.choice((0.0, 0.02, 0.1, 0.3)))
        s.close()
        self.f.note("abort", True, "")

    def op_wrong_code(self, rnd, i):
        aid = self.users["nevercodes"][i % POOL]
        r = self.verify(aid, wrong_code(i))
        self.expect("wrong code", r, [(409, "B2C_MSG_TOKEN_WRONG"),
                                      (409, "B2C_MSG_TOKEN_LIMITED")])

    def op_right_code(self, rnd, i):
        # a number in the 555 exchange, another for each round and request
        aid = self.user(f"never.code{rnd}x{i}", f"+1 312 555 {(rnd - 1) * OPS + i:04d}",
                        app=True)
        code = self.mock.call("GET", f"/_mock/users/{aid}/token")["token"]
        r = self.verify(aid, code)
        self.f.note("right code", r.status == 200 and r.json == {"authyApproved": True},
                    repr(r))

    def pushes(self, aid, cid):
        return [a for a in self.mock.approvals(aid)
                if (a.get("hidden_details") or {}).get("correlation_id") == cid]

    def polled(self, aid, cid, s):
        """The pushes of cid once the responder has polled one (so it holds the
        approval), or None and the reply of the wait on s if that ends first."""
        end = time.monotonic() + 10 * (4 if SLOW else 1)
        while time.monotonic() < end:
            found = self.pushes(aid, cid)
            if found and found[0]["polls"] > 0:
                return found, None
            if select.select([s], [], [], 0.02)[0]:
                return None, self.finish(s)
        return [], None

    def op_retry_callback(self, rnd, i):
        """B2C gives up on a wait, retries it (re-attach: no second push), and the
        approval's signed callback wakes the retry."""
        aid = self.users["never"][i % POOL]
        who = f"retry-{rnd}-{i}"
        first = self.start(e2e.WAIT, self.wait_body(aid, who))
        pushes, early = self.polled(aid, e2e.cid_of(who), first)
        if early is not None:  # max_waits were waiting
            self.expect("retry", early, [(503, "B2C_MSG_UNAVAILABLE")])
            return
        first.close()
        if len(pushes) != 1:
            self.f.note("retry", False, f"{len(pushes)} pushes before the retry")
            return
        retry = self.start(e2e.WAIT, self.wait_body(aid, who))
        uuid = pushes[0]["uuid"]
        self.mock.call("POST", f"/_mock/approval_requests/{uuid}/approve")
        self.deliver(lambda cb: uuid in cb["body"])
        r = self.finish(retry)
        again = self.pushes(aid, e2e.cid_of(who))
        self.f.note("retry", r.status in (200, 503) and len(again) == 1 and
                    (r.status == 503 or r.json == {"authyApproved": True}),
                    f"{r!r}, {len(again)} pushes")

    def deliver(self, which):
        """Send each recorded callback that which() picks, once; each must be accepted."""
        for cb in self.mock.callbacks():
            key = cb["headers"]["X-Authy-Signature-Nonce"] + cb["body"]
            with self.lock:
                if key in self.delivered or not which(cb):
                    continue
                self.delivered.add(key)
            r = e2e.send_callback(self.sock, cb)
            self.f.note("callback", r.status == 200, repr(r))

    def mix(self):
        ops = [(self.op_register, 10), (self.op_register_bad, 3), (self.op_bad_json, 4),
               (self.op_oversize, 2), (self.op_no_cert, 2), (self.op_health, 4),
               (self.op_metrics, 3),
               (self.op_wait_outcome("autoapprove30", None), 5),
               (self.op_wait_outcome("autodeny30", "B2C_MSG_DENIED"), 3),
               (self.op_wait_outcome("autoexpire30", "B2C_MSG_EXPIRED"), 3),
               (self.op_abort, 3), (self.op_wrong_code, 5), (self.op_right_code, 1),
               (self.op_retry_callback, 2)]
        out = []
        for fn, w in ops:
            out += [fn] * w
        return out

    def run_mixed(self, rnd):
        rng = random.Random(1234)  # the same sequence in both rounds
        mix = self.mix()
        work = [(rng.choice(mix), i) for i in range(OPS)]
        it = iter(work)
        lock = threading.Lock()

        def client():
            while True:
                with lock:
                    nxt = next(it, None)
                if nxt is None:
                    return
                fn, i = nxt
                try:
                    fn(rnd, i)
                except Exception as e:  # noqa: BLE001 - reported as a failure
                    self.f.note(fn.__name__, False, repr(e))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    # ---- upstream faults, one at a time, under concurrent requests ----

    def faults(self, rnd):
        create = "/onetouch/json/users/"
        poll = "/onetouch/json/approval_requests/"
        new = "/protected/json/users/new"
        verify = "/protected/json/verify/"
        # Every fault may also end in B2C_MSG_UPSTREAM: the faults of the other paths
        # share the upstream connections, and a call that waits too long for one
        # times out.
        up = [(409, "B2C_MSG_UPSTREAM")]
        limited = [(409, "B2C_MSG_RATE_LIMITED")]
        busy = [(503, "B2C_MSG_UNAVAILABLE")]
        timeout = [(409, "B2C_MSG_TIMEOUT")]
        # One fault for each path at a time: registrations, pushes (created or polled)
        # and codes each meet their own.
        cases = [
            (new, {"mode": "status", "status": 503}, "register", up),
            (new, {"mode": "garbage"}, "register", up),
            (new, {"mode": "ratelimit"}, "register", limited + up),
            (new, {"mode": "drip", "delay_ms": 200}, "register", up),
            (new, {"mode": "hangup", "delay_ms": 10}, "register", [(200, None)] + up),
            (new, {"mode": "oversize"}, "register", up),
            (create, {"mode": "status", "status": 500}, "wait", up + busy),
            (create, {"mode": "garbage"}, "wait", up + busy),
            (create, {"mode": "stall"}, "wait", up + busy),
            (create, {"mode": "close"}, "wait", up + busy),
            (create, {"mode": "reset"}, "wait", up + busy),
            (create, {"mode": "ratelimit"}, "wait", limited + up + busy),
            (poll, {"mode": "garbage"}, "wait", up + timeout + busy),
            (poll, {"mode": "status", "status": 503}, "wait", up + timeout + busy),
            (poll, {"mode": "stall"}, "wait", up + timeout + busy),
            (verify, {"mode": "status", "status": 502}, "code", up),
            (verify, {"mode": "garbage"}, "code", up),
            (verify, {"mode": "reset"}, "code", up),
        ]
        groups = [[c for c in cases if c[2] == w] for w in ("register", "wait", "code")]
        for step in range(max(len(g) for g in groups)):
            threads = []
            for g in groups:
                if step < len(g):
                    threads += self.fault_clients(rnd, step * 10 + len(threads), *g[step])
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.mock.clear_faults()

    def fault_clients(self, rnd, n, match, fault, what, allowed):
        """Clients sending what meets the fault at match, once it is set."""
        self.mock.fault(match=match, count=-1, **fault)
        threads = []
        for k in range(CLIENTS // 2):
            i = n * 100 + k
            if what == "register":
                fn = (lambda i=i: self.register(f"never.reg{i % 50}@example.com",
                                                f"+1 628 555 {i % 50:04d}"))
            elif what == "wait":
                fn = (lambda i=i: self.wait(self.users["never"][i % POOL],
                                            f"fault-{rnd}-{i}"))
            else:
                fn = (lambda i=i: self.verify(self.users["nevercodes"][i % POOL],
                                              wrong_code(i)))
            kind = f"fault {match} {fault['mode']}"
            threads.append(threading.Thread(
                target=lambda fn=fn, kind=kind: self.expect(kind, fn(), allowed)))
        return threads

    # ---- max_waits ----

    def overload(self, rnd):
        held = [self.start(e2e.WAIT, self.wait_body(self.users["never"][k % POOL],
                                                    f"hold-{rnd}-{k}"))
                for k in range(MAX_WAITS)]
        try:
            stack.wait_for(lambda: self.metrics().get("waiting_requests") == MAX_WAITS,
                           10 * (4 if SLOW else 1), "max_waits waiting requests")
            for k in range(3):
                r = self.wait(self.users["never"][k % POOL], f"over-{rnd}-{k}")
                self.expect("wait over max_waits", r, [(503, "B2C_MSG_UNAVAILABLE")])
        finally:
            for s in held:
                s.close()

    # ---- back to rest ----

    def sweep(self):
        """Resolve every push still pending at the mock and deliver its callback."""
        for kind in ("never", "nevercodes"):
            for aid in self.users[kind]:
                self.mock.call("POST", f"/_mock/users/{aid}/deny-pending")
        self.deliver(lambda cb: True)

    def at_rest(self):
        """The gauges once they are at rest (or after a while, as they are then)."""
        end = time.monotonic() + 10 * (4 if SLOW else 1)
        while True:
            m = self.metrics()
            if all(m.get(g) == AT_REST.get(g, 0) for g in GAUGES) or time.monotonic() > end:
                return m
            time.sleep(0.1)

    def settle(self, base):
        """Threads and descriptors back to base (waiting a little), and the RSS then."""
        end = time.monotonic() + 10 * (4 if SLOW else 1)
        while True:
            tasks, fds, rss = self.resources()
            if (tasks <= base[0] + TASK_SLACK and fds <= base[1] + FD_SLACK) or \
                    time.monotonic() > end:
                return tasks, fds, rss
            time.sleep(0.1)

    def round(self, t, rnd, base):
        t0 = time.monotonic()
        sent0 = self.metrics()
        self.run_mixed(rnd)
        t1 = time.monotonic()
        self.faults(rnd)
        t2 = time.monotonic()
        self.overload(rnd)
        self.sweep()
        print(f"# round {rnd}: mixed {t1 - t0:.1f}s, faults {t2 - t1:.1f}s, "
              f"overload and sweep {time.monotonic() - t2:.1f}s", flush=True)
        m = self.at_rest()
        for g in GAUGES:
            t.check(m.get(g) == AT_REST.get(g, 0), f"round {rnd}: gauge {g} back at rest",
                    f"{m.get(g)}")
        tasks, fds, rss = self.settle(base)
        print(f"# round {rnd}: {time.monotonic() - t0:.1f}s, threads {base[0]} -> {tasks}, "
              f"descriptors {base[1]} -> {fds}, anonymous rss {base[2]} -> {rss} KiB, polls "
              f"{m.get('polls_total', 0) - sent0.get('polls_total', 0):.0f}, re-attached "
              f"{m.get('reattached_total', 0) - sent0.get('reattached_total', 0):.0f}",
              flush=True)
        t.check(tasks <= base[0] + TASK_SLACK, f"round {rnd}: no thread left over",
                f"{tasks} threads, {base[0]} at the start")
        t.check(fds <= base[1] + FD_SLACK, f"round {rnd}: no descriptor left over",
                f"{fds} descriptors, {base[1]} at the start")
        return rss

    def warm_up(self):
        """One request of each kind, so that pools and caches are as full as they get."""
        for fn in set(self.mix()):
            fn(0, 0)
        self.faults(0)
        self.overload(0)
        self.sweep()
        self.at_rest()


def check_replies(t, f):
    kinds = sorted({k for k, _ in f.seen})
    total = sum(f.seen.values())
    print(f"# {total} requests: " +
          ", ".join(f"{k} {f.seen[(k, True)]}" for k in kinds), flush=True)
    t.check(not f.bad, "every reply is one its request allows", "\n" + "\n".join(f.bad))
    for kind in ("register", "wait autoapprove30", "wait autodeny30", "wait autoexpire30",
                 "abort", "wrong code", "right code", "retry", "callback", "oversize",
                 "bad json", "healthz", "metrics", "wait over max_waits"):
        t.check(f.seen[(kind, True)] > 0, f"the mix has answered {kind} requests")


def main():
    t = stack.Counter()
    if not os.access(stack.BIN, os.X_OK) or not shutil.which("cgi-fcgi"):
        t.skip("responder binary or cgi-fcgi missing")
        return t.summary()
    e2e.load_messages()
    work = stack.tempdir()
    mock = churn = None
    try:
        certs = stack.make_certs(work)
        mock = stack.Mock(work, certs, extra=["--callback-url", CALLBACK_URL])
        churn = Churn(work, certs, mock)
        churn.make_users()
        churn.warm_up()
        base = churn.settle((1 << 30, 1 << 30))
        print(f"# baseline: threads {base[0]}, descriptors {base[1]}, anonymous rss {base[2]} KiB")
        rss1 = churn.round(t, 1, base)
        rss2 = churn.round(t, 2, base)
        check_replies(t, churn.f)
        if SLOW or "ASAN_OPTIONS" in os.environ:
            print("skipped: resident memory growth (under valgrind or AddressSanitizer)")
        else:
            t.check(rss2 - rss1 < RSS_GROWTH_KIB,
                    f"round 2 grows the anonymous resident memory by less than {RSS_GROWTH_KIB} KiB",
                    f"{rss1} -> {rss2} KiB")
        alive = churn.get("/healthz")
        t.check(alive.status == 200, "still serving after the churn", repr(alive))
    except Exception as e:  # a broken scenario is a failure, not a crash of the suite
        t.check(False, "churn ran to the end", repr(e))
    finally:
        if churn is not None:
            code = churn.resp.stop(timeout=10)
            t.check(code == 0, "SIGTERM after the churn: exit status 0", str(code))
        if mock is not None:
            mock.close()
        stack.remove_tempdir(work)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
