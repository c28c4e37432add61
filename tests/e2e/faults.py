"""faults.py - fault injection at the end-to-end level: the real responder
against an Authy that is not there, does not answer, answers as someone else,
is not trusted, cannot be resolved, or answers slowly, with 5xx, 429 or
garbage. Every request must get its B2C 409 (with the message for the cause)
within the wait budget plus a little slack, and afterwards the responder must
hold no more threads or file descriptors than after its warm-up. /metrics must
count the upstream errors by cause and every request sent. Finally SIGTERM
with five waits in flight: all five are answered and the exit status is 0.
A request refused out of memory as it is read (an LD_PRELOAD shim) leaves
its id to none of the status polls that follow.
Ends with "N passed, N failed".
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import codes  # noqa: E402
import e2e  # noqa: E402
import stack  # noqa: E402

BUDGET_MS = 3000
POLL_MS = 200
# Timing slack in seconds: a little for the scheduler, more under valgrind.
SLACK = float(os.environ.get("B2C_TIMING_SLACK_S") or (8.0 if stack.wrapper() else 1.0))
# Leak slack: a thread or descriptor may still be closing; pooled connections.
TASK_SLACK = 1
FD_SLACK = 3
MSG = e2e.MSG


class Target:
    """One responder, the requests sent to it, and its resource baseline."""

    def __init__(self, work, certs, name, settings):
        tp = stack.thumbprints(certs)
        base = {"authy_api_key": stack.API_KEY, "client_cert_thumbprints": tp["client"],
                "wait_budget_ms": BUDGET_MS, "poll_interval_ms": POLL_MS,
                "approval_ttl_s": 30, "upstream_connections": 2,
                "upstream_connect_timeout_ms": BUDGET_MS,
                # the fault runs push one user many times on purpose
                "max_pushes_per_user": 1000, "log_level": "info"}
        base.update(settings)
        self.name = name
        self.certs = certs
        self.resp = stack.Responder(work, base, name=name)
        self.sent = 0
        self.baseline = None

    def request(self, method, path, body=b"", cert=True):
        self.sent += 1
        params = stack.cert_params(self.certs, "client") if cert else {}
        return stack.fcgi(self.resp.sock, method, path, params, body,
                          "application/json" if method == "POST" else None)

    def register(self, email, phone="+1 415 555 0166"):
        return self.request("POST", e2e.REGISTER,
                            json.dumps({"email": email, "phoneNumber": phone}))

    def wait_start(self, authy_id, sign_in):
        self.sent += 1
        body = e2e.wait_body(authy_id, sign_in=sign_in)
        return stack.fcgi_start(self.resp.sock, "POST", e2e.WAIT,
                                stack.cert_params(self.certs, "client"), body)

    def wait(self, authy_id, sign_in):
        return stack.fcgi_finish(self.wait_start(authy_id, sign_in))

    def verify_token(self, authy_id, token):
        stack.ONE_TIME_CODES.add(token)
        return self.request("POST", codes.VERIFY_TOKEN,
                            json.dumps({"authyId": authy_id, "token": token,
                                        "correlationId": e2e.cid_of(f"code-{authy_id}")}))

    def resources(self):
        pid = self.resp.pid()
        return (len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd")))

    def take_baseline(self):
        time.sleep(0.3)
        self.baseline = self.resources()

    def metrics(self):
        r = self.request("GET", "/metrics", cert=False)
        out = {}
        for line in r.body.decode(errors="replace").splitlines():
            m = re.match(r"(\w+)(\{[^}]*\})? (\S+)$", line)
            if m:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
        return out


def expect(t, what, reply, status, msg, budget_s=BUDGET_MS / 1000):
    """A B2C-shaped reply with the status and message, within the budget."""
    j = reply.json if isinstance(reply.json, dict) else {}
    t.check(reply.status == status and j.get("userMessage") == MSG[msg] and
            e2e.b2c_shaped(reply), f"{what}: {status} {msg}", repr(reply))
    t.check(reply.elapsed <= budget_s + SLACK, f"{what}: answered within the budget",
            f"{reply.elapsed:.2f}s > {budget_s}+{SLACK}s")


def check_no_leak(t, tgt):
    """Threads and descriptors back to the warm-up baseline (waiting a little)."""
    tasks0, fds0 = tgt.baseline
    end = time.monotonic() + 5 + SLACK
    while True:
        tasks, fds = tgt.resources()
        if (tasks <= tasks0 + TASK_SLACK and fds <= fds0 + FD_SLACK) or time.monotonic() > end:
            break
        time.sleep(0.2)
    print(f"# {tgt.name}: threads {tasks0} -> {tasks}, descriptors {fds0} -> {fds}", flush=True)
    t.check(tasks <= tasks0 + TASK_SLACK, f"{tgt.name}: no stuck thread",
            f"{tasks} threads, {tasks0} after warm-up")
    t.check(fds <= fds0 + FD_SLACK, f"{tgt.name}: no leaked file descriptor",
            f"{fds} descriptors, {fds0} after warm-up")


def check_metrics(t, tgt, causes):
    """Upstream errors by cause (at least the given counts) and every request counted."""
    sent = tgt.sent  # the /metrics request itself is counted once it is answered
    m = tgt.metrics()
    for cause, least in causes.items():
        got = m.get(("b2c_authy_upstream_errors_total", f'{{cause="{cause}"}}'), 0)
        t.check(got >= least, f"{tgt.name}: metrics count upstream errors cause={cause}",
                f"{got} < {least}")
    counted = sum(v for (name, _), v in m.items() if name == "b2c_authy_requests_total")
    t.check(counted == sent, f"{tgt.name}: request counters add up to the requests sent",
            f"{counted} counted, {sent} sent")


def broken_upstream(t, work, certs, name, url, cause, extra=None, reps=2):
    """A responder whose Authy cannot be reached: every call is a 409 of B2C_MSG_UPSTREAM."""
    settings = {"authy_api_url": url, "authy_ca_file": os.path.join(certs, "ca.pem")}
    settings.update(extra or {})
    tgt = Target(work, certs, name, settings)
    try:
        expect(t, f"{name}: warm-up register", tgt.register(f"warm.{name}@example.com"), 409,
               "B2C_MSG_UPSTREAM")
        tgt.take_baseline()
        for i in range(reps):
            expect(t, f"{name}: register #{i + 1}", tgt.register(f"u{i}.{name}@example.com"),
                   409, "B2C_MSG_UPSTREAM")
            expect(t, f"{name}: wait #{i + 1}", tgt.wait("1234567", f"{name}-{i}"), 409,
                   "B2C_MSG_UPSTREAM")
            expect(t, f"{name}: verifytoken #{i + 1}", tgt.verify_token("1234567", "4082361"),
                   409, "B2C_MSG_UPSTREAM")
        alive = tgt.request("GET", "/healthz", cert=False)
        t.check(alive.status == 200, f"{name}: still serving")
        check_no_leak(t, tgt)
        check_metrics(t, tgt, {cause: 1 + 3 * reps})
    finally:
        tgt.resp.stop(timeout=10)


class Blackhole:
    """A TCP server that accepts connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


def new_user(t, tgt, prefix, phone):
    r = tgt.register(f"{prefix}@example.com", phone)
    ok = t.check(r.status == 200 and isinstance(r.json, dict) and "authyId" in r.json,
                 f"{tgt.name}: register {prefix}", repr(r))
    return r.json["authyId"] if ok else "0"


def approval_faults(t, tgt, mock):
    """Create and poll calls failing at the mock: 5xx, 429, garbage, slow drip, stall."""
    create = "/onetouch/json/users/"
    poll = "/onetouch/json/approval_requests/"
    aid = new_user(t, tgt, "never.faults", "+1 415 555 0167")
    cases = [
        ("create 503", create, {"mode": "status", "status": 503}, "B2C_MSG_UPSTREAM"),
        # A 400 refuses the responder's request, not the user's phone number.
        ("create 400 60000", create, {"mode": "status", "status": 400, "error_code": "60000"},
         "B2C_MSG_UPSTREAM"),
        ("create 429", create, {"mode": "ratelimit"}, "B2C_MSG_RATE_LIMITED"),
        ("create garbage", create, {"mode": "garbage"}, "B2C_MSG_UPSTREAM"),
        ("create slow drip", create, {"mode": "drip", "delay_ms": 300}, "B2C_MSG_UPSTREAM"),
        ("create stall", create, {"mode": "stall"}, "B2C_MSG_UPSTREAM"),
        ("poll 500", poll, {"mode": "status", "status": 500, "count": -1}, "B2C_MSG_UPSTREAM"),
        ("poll 400", poll, {"mode": "status", "status": 400, "count": -1}, "B2C_MSG_UPSTREAM"),
        ("poll 429", poll, {"mode": "ratelimit", "count": -1}, "B2C_MSG_RATE_LIMITED"),
        ("poll garbage", poll, {"mode": "garbage", "count": -1}, "B2C_MSG_UPSTREAM"),
        ("poll slow drip", poll, {"mode": "drip", "delay_ms": 300, "count": -1},
         "B2C_MSG_UPSTREAM"),
    ]
    for i, (what, match, fault, msg) in enumerate(cases):
        mock.fault(match=match, **fault)
        expect(t, f"{tgt.name}: {what}", tgt.wait(aid, f"fault-{i}"), 409, msg)
        mock.clear_faults()


def token_faults(t, tgt, mock):
    """Token verification failing at the mock: never an approval, always the cause's 409;
    a right code afterwards still passes (the failures counted as attempts, fewer than the
    limit)."""
    match = "/protected/json/verify/"
    aid = new_user(t, tgt, "never.codes", "+1 415 555 0169")
    cases = [
        ("verifytoken 503", {"mode": "status", "status": 503}, "B2C_MSG_UPSTREAM"),
        ("verifytoken 400 60002", {"mode": "status", "status": 400, "error_code": "60002"},
         "B2C_MSG_UPSTREAM"),
        ("verifytoken 429", {"mode": "ratelimit"}, "B2C_MSG_RATE_LIMITED"),
        ("verifytoken garbage", {"mode": "garbage"}, "B2C_MSG_UPSTREAM"),
        ("verifytoken stall", {"mode": "stall"}, "B2C_MSG_UPSTREAM"),
    ]
    for what, fault, msg in cases:
        mock.fault(match=match, **fault)
        code = mock.call("GET", f"/_mock/users/{aid}/token")["token"]
        expect(t, f"{tgt.name}: {what}", tgt.verify_token(aid, code), 409, msg)
        mock.clear_faults()
    code = mock.call("GET", f"/_mock/users/{aid}/token")["token"]
    r = tgt.verify_token(aid, code)
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            f"{tgt.name}: verifytoken after the faults -> 200", repr(r))


def drain_on_sigterm(t, tgt):
    """SIGTERM with five waits in flight: each gets its approval, then exit 0."""
    ids = [new_user(t, tgt, f"autoapprove1500.drain{i}", f"+1 650 555 02{i:02d}")
           for i in range(5)]
    procs = [tgt.wait_start(aid, f"drain-{i}") for i, aid in enumerate(ids)]
    time.sleep(0.5)
    t0 = time.monotonic()
    tgt.resp.proc.send_signal(signal.SIGTERM)
    replies = [stack.fcgi_finish(p) for p in procs]
    t.check(all(r.status == 200 for r in replies), "SIGTERM: all 5 waits in flight answered 200",
            repr(replies))
    code = tgt.resp.stop(timeout=BUDGET_MS / 1000 + 5)
    t.check(code == 0, "SIGTERM: exit status 0", str(code))
    t.check(time.monotonic() - t0 <= BUDGET_MS / 1000 + SLACK, "SIGTERM: drained in the budget",
            f"{time.monotonic() - t0:.2f}s")


def shim_responder(work, certs, mock, shim_name, name, env, settings):
    """A responder against the mock with tests/e2e/SHIM_NAME.c built and preloaded (env
    added), or None without a C compiler or under a wrapper."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or stack.wrapper():
        return None
    shim = os.path.join(work, shim_name + ".so")
    src = os.path.join(os.path.dirname(__file__), shim_name + ".c")
    subprocess.run([cc, "-shared", "-fPIC", "-o", shim, src, "-ldl"], check=True)
    env = dict(env, LD_PRELOAD=shim)
    if "ASAN_OPTIONS" in os.environ:  # the shim is preloaded ahead of the ASan runtime
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    tp = stack.thumbprints(certs)
    return stack.Responder(work, dict({"authy_api_key": stack.API_KEY, "authy_api_url": mock.url,
                                       "authy_ca_file": os.path.join(certs, "ca.pem"),
                                       "client_cert_thumbprints": tp["client"],
                                       "poll_interval_ms": POLL_MS}, **settings),
                           name=name, env=env)


def registered_wait(r, certs, who, phone):
    """Register never.WHO@example.com on r and start a wait for it (a push nobody answers)."""
    aid = stack.fcgi(r.sock, "POST", e2e.REGISTER, stack.cert_params(certs, "client"),
                     json.dumps({"email": f"never.{who}@example.com",
                                 "phoneNumber": phone})).json["authyId"]
    return stack.fcgi_start(r.sock, "POST", e2e.WAIT, stack.cert_params(certs, "client"),
                            e2e.wait_body(aid, sign_in=who))


def loop_failure(t, work, certs, mock):
    """The event loop fails (epoll_wait refused, through an LD_PRELOAD shim):
    the wait in flight is let go, and the exit status is 1, so that systemd's
    Restart=on-failure starts the service again."""
    flag = os.path.join(work, "epoll-fail.flag")
    r = shim_responder(work, certs, mock, "epoll_fail", "loopfail", {"EPOLL_FAIL_FLAG": flag},
                       {"wait_budget_ms": 20000, "log_level": "info"})
    if r is None:
        print("skipped: loop failure (no C compiler, or under a wrapper)")
        return
    try:
        pending = registered_wait(r, certs, "loopfail", "+1 415 555 0170")
        time.sleep(0.5)
        open(flag, "w").close()
        code = r.proc.wait(10)
        reply = stack.fcgi_finish(pending)
        t.check(code == 1, "loop failure: exit status 1", str(code))
        t.check("event loop failed" in r.log_text(), "loop failure: logged", r.log_text()[-400:])
        t.check(reply.status != 200, "loop failure: the wait in flight is not approved",
                repr(reply))
    finally:
        r.stop(timeout=5)


def refused_request_id(t, work, certs, mock):
    """A request refused as it is read (out of memory, through an LD_PRELOAD shim that
    fails strdup of its path) logs with its id and does not leave it behind: the status polls of
    a wait that runs on carry rid=-, as the loop's own lines do."""
    r = shim_responder(work, certs, mock, "strdup_fail", "refusedrid", {},
                       {"wait_budget_ms": BUDGET_MS, "log_level": "debug"})
    if r is None:
        print("skipped: refused request id (no C compiler, or under a wrapper)")
        return
    try:
        pending = registered_wait(r, certs, "refusedrid", "+1 415 555 0171")
        refused = stack.fcgi(r.sock, "GET", "/oom/healthz", {}, b"", None)
        reply = stack.fcgi_finish(pending)
        t.check(refused.status >= 500 and reply.status == 409,
                "refused request id: the request refused, the wait timed out",
                f"{refused!r} {reply!r}")
        lines = r.log_text().splitlines()
        rids = [m.group(1) for ln in lines if "request refused" in ln
                for m in [re.search(r" rid=(\S+) ", ln)] if m]
        at = next((i for i, ln in enumerate(lines) if "request refused" in ln), len(lines))
        polls = [ln for ln in lines[at:] if "upstream method=GET" in ln]
        t.check(rids and rids[0] != "-" and polls and
                not [ln for ln in polls if f" rid={rids[0]} " in ln],
                "refused request id: the polls after it do not carry it", repr(polls)[:600])
    finally:
        r.stop(timeout=5)


def mock_faults(t, work, certs, mock):
    # One poll may take 1.5 s: a dripping poll fails once before the wait's deadline.
    tgt = Target(work, certs, "mockfaults", {
        "authy_api_url": mock.url, "authy_ca_file": os.path.join(certs, "ca.pem"),
        "upstream_timeout_ms": 1500, "max_code_attempts": 10})
    try:
        aid = new_user(t, tgt, "autoapprove100.warm", "+1 415 555 0168")
        r = tgt.wait(aid, "warm-up")
        t.check(r.status == 200, "mockfaults: warm-up approval", repr(r))
        tgt.take_baseline()
        approval_faults(t, tgt, mock)
        token_faults(t, tgt, mock)
        alive = tgt.request("GET", "/healthz", cert=False)
        t.check(alive.status == 200, "mockfaults: still serving")
        check_no_leak(t, tgt)
        check_metrics(t, tgt, {"upstream_http": 6, "rate_limited": 3,
                               "upstream_protocol": 3, "upstream_timeout": 4})
        drain_on_sigterm(t, tgt)
    finally:
        tgt.resp.stop(timeout=10)


def main():
    t = stack.Counter()
    if not os.access(stack.BIN, os.X_OK) or not shutil.which("cgi-fcgi"):
        t.skip("responder binary or cgi-fcgi missing")
        return t.summary()
    e2e.load_messages()
    work = stack.tempdir()
    mock = wrongname = hole = None
    try:
        certs = stack.make_certs(work)
        mock = stack.Mock(work, certs)
        wrongname = stack.Mock(work, certs, cert="wrongname")
        hole = Blackhole()
        t0 = time.monotonic()
        broken_upstream(t, work, certs, "refused", f"https://127.0.0.1:{stack.free_port()}",
                        "upstream_connect", reps=3)
        broken_upstream(t, work, certs, "blackhole", f"https://127.0.0.1:{hole.port}",
                        "upstream_timeout", reps=1)
        broken_upstream(t, work, certs, "wrongname", wrongname.url, "upstream_connect")
        broken_upstream(t, work, certs, "untrusted", mock.url, "upstream_connect",
                        {"authy_ca_file": ""})
        broken_upstream(t, work, certs, "nxdomain", "https://authy.invalid",
                        "upstream_connect")
        mock_faults(t, work, certs, mock)
        loop_failure(t, work, certs, mock)
        refused_request_id(t, work, certs, mock)
        print(f"# faults took {time.monotonic() - t0:.1f}s", flush=True)
    except Exception as e:  # a broken scenario is a failure, not a crash of the suite
        t.check(False, "fault scenarios ran to the end", repr(e))
    finally:
        for m in (mock, wrongname):
            if m is not None:
                m.close()
        if hole is not None:
            hole.close()
        stack.remove_tempdir(work)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
