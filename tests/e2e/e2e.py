"""e2e.py - end-to-end tests of b2c-authy: the real binary on a Unix socket,
requests through cgi-fcgi, the mock Authy API over TLS.

Part 1 runs every data-driven case in tests/cases/*.case (one request each).
Part 2 runs the flows that need several steps: register -> wait -> approved,
denial, expiry, timeout, B2C retry re-attach, client abort, upstream faults,
concurrency, health/metrics, graceful shutdown with a wait in flight, and a
scan of every log for secrets and unmasked phone numbers.
The environment variable PROVIDER (authy, the default, or verify) chooses the
backend the responder is configured for; provider.py holds what differs.
Ends with "N passed, N failed".
"""
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import codes  # noqa: E402
import provider  # noqa: E402
import stack  # noqa: E402

BUDGET_MS = 4000
POLL_MS = 200
REGISTER = "/api/identity/register"
WAIT = "/api/identity/waitforauthyapproval"
MSG = {}


def load_messages():
    """The exact user messages, read from src/b2c/b2c.h (not retyped here)."""
    text = open(os.path.join(stack.ROOT, "src", "b2c", "b2c.h")).read()
    text = re.sub(r'"\s*\\\n\s*"', "", text)
    text = re.sub(r"\\\n\s*", " ", text)
    for m in re.finditer(r'#define (B2C_MSG_\w+)\s+"((?:[^"\\]|\\.)*)"', text):
        MSG[m.group(1)] = m.group(2)


# ---- data-driven cases ----

def expand_body(val):
    """body-gen: <<N*text>> is text repeated N times; \\xHH is the byte HH."""
    val = re.sub(r"<<(\d+)\*(.*?)>>", lambda m: m.group(2) * int(m.group(1)), val)
    return re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  val.encode("utf-8"))


def parse_case(path):
    """One case file: "key: value" lines, '#' comments. Keys: request (METHOD
    PATH), cert (a stack.cert_params kind), param (NAME=value, repeatable),
    unset (NAME: leave that param out), content-type (or none), body, body-hex,
    body-size (N bytes of JSON), body-gen (see expand_body), transport (cgi-fcgi,
    or raw for our own FastCGI client, which can send a body without
    CONTENT_LENGTH), provider (authy or verify: run only with that backend),
    expect-status, expect-json (FIELD =|~|absent|present VALUE, repeatable; ~ is a
    regular expression the whole value must match),
    expect-header (NAME=value, repeatable)."""
    case = {"name": os.path.basename(path), "params": {}, "expect_json": [],
            "expect_header": [], "cert": "client", "content_type": "application/json",
            "body": b"", "transport": "cgi-fcgi"}
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, val = line.partition(":")
        val = val.strip() if key != "body" else val[1:] if val.startswith(" ") else val
        if key == "request":
            case["method"], case["path"] = val.split(None, 1) if " " in val else (val, "")
        elif key == "cert":
            case["cert"] = val
        elif key == "param":
            k, _, v = val.partition("=")
            case["params"][k] = v
        elif key == "content-type":
            case["content_type"] = None if val == "none" else val
        elif key == "body":
            case["body"] = val.encode("utf-8")
        elif key == "body-hex":
            case["body"] = bytes.fromhex(val)
        elif key == "body-gen":
            case["body"] = expand_body(val)
        elif key == "unset":
            case["params"][val] = None
        elif key == "transport":
            if val not in ("cgi-fcgi", "raw"):
                raise ValueError(f"{path}: unknown transport {val!r}")
            case["transport"] = val
        elif key == "provider":
            if val not in ("authy", "verify"):
                raise ValueError(f"{path}: unknown provider {val!r}")
            case["provider"] = val
        elif key == "body-size":
            n = int(val)
            case["body"] = b'{"email":"' + b"a" * max(0, n - 12) + b'"}'
        elif key == "expect-status":
            case["status"] = int(val)
        elif key == "expect-json":
            case["expect_json"].append(val)
        elif key == "expect-header":
            case["expect_header"].append(val)
        else:
            raise ValueError(f"{path}: unknown key {key!r}")
    # Any object passes as a 200 (b2c_shaped): a success must name the claims B2C gets.
    if case.get("status", 200) == 200 and not case["expect_json"]:
        raise ValueError(f"{path}: a 200 case needs an expect-json for the claims it returns")
    return case


def json_value(doc, dotted):
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def expand(val):
    """MSG:B2C_MSG_X stands for the message defined in src/b2c/b2c.h."""
    if val.startswith("MSG:"):
        return MSG.get(val[4:], f"<no {val[4:]} in b2c.h>")
    return val


def check_expectation(reply, exp):
    m = re.match(r"(\S+)\s+(=|~|absent|present)\s*(.*)$", exp)
    if not m:
        return False, f"bad expectation {exp!r}"
    field, op, want = m.group(1), m.group(2), expand(m.group(3))
    got = json_value(reply.json, field) if isinstance(reply.json, dict) else None
    if op == "absent":
        return got is None, f"{field} present"
    if op == "present":
        return got is not None, f"{field} absent"
    got_s = got if isinstance(got, str) else json.dumps(got)
    if op == "=":
        return got_s == want, f"{field}={got_s!r} want {want!r}"
    # The whole value: re.search's "$" would take a trailing newline too.
    return re.fullmatch(want, got_s or "") is not None, f"{field}={got_s!r} !~ {want!r}"


def b2c_shaped(reply):
    """Every non-200 reply carries the B2C error body with a matching status."""
    j = reply.json
    if reply.status == 200:
        return isinstance(j, dict)
    return (isinstance(j, dict) and j.get("version") == "1.0.0" and j.get("status") ==
            reply.status and isinstance(j.get("userMessage"), str) and j["userMessage"] and
            reply.headers.get("content-type", "").startswith("application/json"))


def run_case(t, env, case):
    params = stack.cert_params(env["certs"], case["cert"])
    params.update(case["params"])
    send = stack.fcgi_raw if case["transport"] == "raw" else stack.fcgi
    reply = send(env["sock"], case["method"], case["path"], params, case["body"],
                 case["content_type"])
    ok = reply.status == case.get("status", 200)
    problems = [] if ok else [f"status {reply.status} want {case.get('status')}"]
    if case["method"] == "HEAD":
        # The headers of the error; its body stays behind, its length is given.
        if reply.body or int(reply.headers.get("content-length", "0")) == 0:
            problems.append("a HEAD reply with a body, or without the length of the error")
    elif not b2c_shaped(reply):
        problems.append("not a B2C-shaped JSON reply")
    for exp in case["expect_json"]:
        good, why = check_expectation(reply, exp)
        if not good:
            problems.append(why)
    for exp in case["expect_header"]:
        k, _, v = exp.partition("=")
        if reply.headers.get(k.strip().lower()) != v.strip():
            problems.append(f"header {k.strip()}={reply.headers.get(k.strip().lower())!r}")
    t.check(not problems, f"case {case['name']}", "; ".join(problems) + f" {reply!r}")


# ---- flows ----

def prov(env):
    """The backend the responder under test talks to (Authy when not set)."""
    return env.get("provider") or provider.Authy()


def register(env, email, phone="+1 415 555 0100", sign_in=None, object_id=None):
    """POST register; phone None leaves phoneNumber out (as the Verify policy does)."""
    body = {"email": email}
    if phone is not None:
        body["phoneNumber"] = phone
    if sign_in:
        body["signInName"] = sign_in
    if object_id:
        body["objectId"] = object_id
    return stack.fcgi(env["sock"], "POST", REGISTER, stack.cert_params(env["certs"], "client"),
                      json.dumps(body))


SAME = object()  # wait(): the correlation id of the sign-in name (one sign-in per name)


def cid_of(sign_in):
    """A B2C-like correlation id per sign-in name, so retries of one name re-attach."""
    return "cid-" + re.sub(r"[^A-Za-z0-9]", "-", sign_in)


def wait_body(authy_id, email="", sign_in="user1", key="authyId", cid=SAME, ip=None):
    body = {key: authy_id, "email": email, "signInName": sign_in}
    if cid is not None:
        body["correlationId"] = cid_of(sign_in) if cid is SAME else cid
    if ip is not None:
        body["ipAddress"] = ip
    return json.dumps(body)


def wait(env, authy_id, email="", sign_in="user1", key="authyId", cid=SAME, ip=None, sock=None):
    return stack.fcgi(sock or env["sock"], "POST", WAIT,
                      stack.cert_params(env["certs"], "client"),
                      wait_body(authy_id, email, sign_in, key, cid, ip))


def wait_start(env, authy_id, sign_in="user1", cid=SAME, ip=None, sock=None):
    return stack.fcgi_start(sock or env["sock"], "POST", WAIT,
                            stack.cert_params(env["certs"], "client"),
                            wait_body(authy_id, "", sign_in, "authyId", cid, ip))


def new_user(t, env, prefix, phone):
    digits = re.sub(r"\D", "", phone)
    r = register(env, f"{prefix}+{digits[-4:]}@example.com", phone)
    ok = t.check(r.status == 200 and re.fullmatch(r"[0-9]+", str((r.json or {}).get("authyId"))),
                 f"register {prefix}", repr(r))
    if ok:
        prov(env).enrol(env, r.json["authyId"], prefix)
    return r.json["authyId"] if ok else "0"


def flow_approve(t, env):
    aid = new_user(t, env, "autoapprove300", "+44 7700 900001")
    again = register(env, "autoapprove300+0001@example.com", "+44 (0)7700-900.001")
    t.check(again.json == {"authyId": aid}, "same phone registers to the same authyId",
            repr(again))
    r = wait(env, aid, sign_in="alice@example.com")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            'wait -> approved -> 200 {"authyApproved":true}', repr(r))
    t.check(r.elapsed < 3, "approval seen within a poll interval", f"{r.elapsed:.2f}s")
    reqs = prov(env).approvals(env["mock"], aid)
    t.check(len(reqs) == 1, "one approval request sent", repr(reqs))
    if reqs:
        det = reqs[0].get("details", {})
        t.check(det.get("Sign-in name") == "alice@example.com", "details carry the sign-in name",
                repr(det))
        # Verify takes an ExpirationDate in whole seconds of the responder's
        # clock, which the mock turns back into seconds from its own arrival:
        # 29 when a second began in between.
        ttls = (29, 30) if prov(env).name == "verify" else (30,)
        t.check(reqs[0].get("message") == "Sign-in request" and
                int(reqs[0].get("seconds_to_expire", 0)) in ttls,
                "message and seconds_to_expire from the config", repr(reqs[0]))
    r = wait(env, aid, key="appCode", sign_in="alice@example.com")
    t.check(r.status == 200, "appCode alias accepted", repr(r))


def flow_outcomes(t, env):
    aid = new_user(t, env, "autodeny200", "+49 151 23456789")
    r = wait(env, aid)
    t.check(r.status == 409 and r.json.get("userMessage") == MSG["B2C_MSG_DENIED"],
            "denied -> 409 denied message", repr(r))
    aid = new_user(t, env, "autoexpire200", "+33 6 12 34 56 78")
    r = wait(env, aid)
    t.check(r.status == 409 and r.json.get("userMessage") == MSG["B2C_MSG_EXPIRED"],
            "expired -> 409 expired message", repr(r))
    aid = new_user(t, env, "never", "+61 412 345 678")
    r = wait(env, aid, sign_in="timeout-user")
    t.check(r.status == 409 and r.json.get("userMessage") == MSG["B2C_MSG_TIMEOUT"],
            "pending past the budget -> 409 timeout message", repr(r))
    t.check(BUDGET_MS / 1000 - 0.3 <= r.elapsed <= BUDGET_MS / 1000 + 1.5,
            "timeout answered at the wait budget", f"{r.elapsed:.2f}s")
    r = wait(env, "987654321")
    t.check(r.status == 409 and r.json.get("userMessage") == MSG["B2C_MSG_USER_NOT_FOUND"] and
            "contact support" in r.json.get("userMessage", ""),
            "unknown authyId -> 409 user not found, contact support", repr(r))


def flow_retry_reattach(t, env):
    aid = new_user(t, env, "never", "+1 212 555 0142")
    r1 = wait(env, aid, sign_in="retry-user")
    t.check(r1.status == 409, "first try times out", repr(r1))
    p = wait_start(env, aid, sign_in="retry-user")
    time.sleep(0.8)
    reqs = prov(env).approvals(env["mock"], aid)
    t.check(len(reqs) == 1, "retry re-attaches: still one push", repr(reqs))
    if reqs:
        prov(env).resolve(env["mock"], reqs[0]["uuid"], "approve")
    r2 = stack.fcgi_finish(p)
    t.check(r2.status == 200, "retry gets the approval", repr(r2))
    t.check(r2.elapsed < 0.8 + POLL_MS / 1000 * 2 + 1, "approval seen quickly after re-attach",
            f"{r2.elapsed:.2f}s")
    r3 = wait(env, aid, sign_in="other-name")
    t.check(len(prov(env).approvals(env["mock"], aid)) == 2, "other sign-in name -> a new push",
            repr(r3))


def flow_abort(t, env):
    aid = new_user(t, env, "never", "+1 303 555 0199")
    p = wait_start(env, aid, sign_in="abort-user")
    time.sleep(1.0)
    p.kill()
    p.wait()
    time.sleep(0.6)
    uuid = (prov(env).approvals(env["mock"], aid) or [{}])[0].get("uuid", "?")

    def polls():
        return sum(1 for r in env["mock"].requests() if uuid in r.get("path", ""))
    before = polls()
    time.sleep(1.0)
    after = polls()
    t.check(after == before, "client abort stops the polling", f"{before} -> {after}")
    aborted = [ln for ln in env["responder"].log_text().splitlines()
               if "outcome=aborted" in ln and "correlation_id=" + cid_of("abort-user") in ln]
    t.check(aborted and " rid=- " not in aborted[0], "abort logged with its request id",
            repr(aborted))


def flow_faults(t, env):
    m = env["mock"]
    # libcurl itself resends a request once when a kept-alive connection dies
    # before any reply, so a closed connection must happen twice to surface.
    for mode, count, extra, msg, name in [
            ("status", 1, {"status": 503}, "B2C_MSG_UPSTREAM", "Authy 503"),
            ("garbage", 1, {}, "B2C_MSG_UPSTREAM", "garbage JSON"),
            ("ratelimit", 1, {}, "B2C_MSG_RATE_LIMITED", "Authy 429"),
            ("close", 2, {}, "B2C_MSG_UPSTREAM", "connection closed")]:
        m.fault(match=prov(env).register_path, mode=mode, count=count, **extra)
        r = register(env, "fault@example.com", "+1 415 555 0177")
        t.check(r.status == 409 and r.json.get("userMessage") == MSG[msg],
                f"{name} on register -> 409", repr(r))
    t.check("HTTP 429 " + prov(env).rate_limit_code in env["responder"].log_text(),
            "the rate limit's documented error code is logged", prov(env).rate_limit_code)
    m.clear_faults()
    m.fault(match=prov(env).register_path, mode="stall", count=1)
    r = register(env, "stall@example.com", "+1 415 555 0178")
    t.check(r.status == 409 and r.json.get("userMessage") == MSG["B2C_MSG_UPSTREAM"],
            "stalled Authy -> 409 within the budget", repr(r))
    t.check(r.elapsed <= BUDGET_MS / 1000 + 1.5, "stall bounded by the budget",
            f"{r.elapsed:.2f}s")
    m.clear_faults()
    for email, msg in prov(env).register_magic:
        r = register(env, email, "+1 415 555 0179")
        t.check(r.status == 409 and r.json.get("userMessage") == MSG[msg],
                f"register {email.split('@')[0]} -> 409", repr(r))
    aid = new_user(t, env, "autoapprove100", "+1 415 555 0180")
    m.fault(match=prov(env).poll_path(aid), mode="status", status=500, count=2)
    r = wait(env, aid, sign_in="poll-errors")
    t.check(r.status == 200, "transient poll errors are retried", repr(r))
    m.clear_faults()


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on loopback, as an egress proxy would be: it records each tunnel's
    target and relays the bytes (the TLS session stays end to end)."""
    daemon_threads = True

    def __init__(self):
        self.targets = []
        super().__init__(("127.0.0.1", 0), ConnectHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class ConnectHandler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = self.request.recv(1024)
            if not chunk:
                return
            head += chunk
        method, target = (head.split(b"\r\n", 1)[0].split(b" ") + [b"", b""])[:2]
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        self.server.targets.append(target.decode())
        host, _, port = target.decode().rpartition(":")
        with socket.create_connection((host, int(port)), timeout=10) as up:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            ends = [self.request, up]
            while True:
                ready, _, _ = select.select(ends, [], [], 30)
                if not ready:
                    return
                for r in ready:
                    data = r.recv(65536)
                    if not data:
                        return
                    (up if r is self.request else self.request).sendall(data)


def flow_proxy(t, env):
    """The upstream calls go through the proxy named by https_proxy in the responder's
    environment, except to the hosts no_proxy names."""
    proxy = ConnectProxy()
    mock = env["mock"].url.split("://", 1)[1]
    try:
        for name, extra, through in (("proxied", {}, True),
                                     ("unproxied", {"no_proxy": "127.0.0.1"}, False)):
            r = stack.Responder(env["work"], env["settings"], name=name,
                                env=dict({"https_proxy": proxy.url}, **extra))
            try:
                before = len(proxy.targets)
                reply = register(dict(env, sock=r.sock), f"{name}@example.com",
                                 "+1 415 555 0181")
                t.check(reply.status == 200 and (reply.json or {}).get("authyId"),
                        f"register with https_proxy set{' and no_proxy' if extra else ''}",
                        repr(reply))
                seen = proxy.targets[before:]
                what = ("through the proxy, one tunnel to the API" if through
                        else "no_proxy: straight to the API, not through the proxy")
                t.check(seen == ([mock] if through else []), what, repr(seen))
            finally:
                r.stop(timeout=10)
    finally:
        proxy.shutdown()
        proxy.server_close()


def flow_concurrency(t, env):
    ids = [new_user(t, env, "autoapprove500", f"+1 650 555 {1000 + i:04d}") for i in range(3)]
    opened = env["mock"].call("GET", "/_mock/stats").get("connections_opened", 0)
    procs = [wait_start(env, ids[i % 3], sign_in=f"c{i}") for i in range(24)]
    replies = [stack.fcgi_finish(p) for p in procs]
    t.check(all(r.status == 200 for r in replies), "24 concurrent waits all approved",
            repr([r.status for r in replies]))
    pid = env["responder"].proc.pid
    peak = len(os.listdir(f"/proc/{pid}/task"))
    time.sleep(0.3)
    idle = len(os.listdir(f"/proc/{pid}/task"))
    # One loop thread serves every request: no thread per request or wait.
    t.check(idle <= 2 and peak <= 4, "the thread count stays fixed through the burst",
            f"{idle} threads now (peak {peak})")
    st = env["mock"].call("GET", "/_mock/stats")
    new = st.get("connections_opened", 999) - opened
    t.check(new <= 16, "upstream connections stay bounded (upstream_connections)",
            f"{new} new connections, {st!r}")


def pushes(env, aid, cid=None):
    """The approvals sent for aid (only those bound to correlation id cid)."""
    reqs = prov(env).approvals(env["mock"], aid)
    return [r for r in reqs if cid is None or
            (r.get("hidden_details") or {}).get("correlation_id") == cid]


def code_of(r):
    return r.json.get("code") if isinstance(r.json, dict) else None


APPROVED = {"authyApproved": True}


def flow_binding(t, env):
    """Two sign-ins of one account at once: two pushes; approving one answers only it."""
    aid = new_user(t, env, "never", "+1 312 555 0150")
    pa = wait_start(env, aid, sign_in="twin", cid="cid-twin-a")
    pb = wait_start(env, aid, sign_in="twin", cid="cid-twin-b")
    stack.wait_for(lambda: len(pushes(env, aid)) >= 2, 5, "two pushes")
    a, b = pushes(env, aid, "cid-twin-a"), pushes(env, aid, "cid-twin-b")
    t.check(len(pushes(env, aid)) == 2 and len(a) == 1 and len(b) == 1,
            "two sign-ins with different correlation ids -> two pushes", repr(pushes(env, aid)))
    prov(env).resolve(env["mock"], a[0]["uuid"], "approve")
    ra = stack.fcgi_finish(pa)
    t.check(ra.status == 200 and ra.json == APPROVED, "approving one push answers its sign-in",
            repr(ra))
    time.sleep(POLL_MS * 3 / 1000)
    t.check(pb.poll() is None, "the other sign-in is not answered by that approval")
    prov(env).resolve(env["mock"], b[0]["uuid"], "deny")
    rb = stack.fcgi_finish(pb)
    t.check(rb.status == 409 and code_of(rb) == "denied", "the other sign-in gets its own outcome",
            repr(rb))


def flow_binding_ip(t, env):
    """One correlation id from two addresses: two pushes, each answered on its
    own; the same address re-attaches."""
    aid = new_user(t, env, "never", "+1 312 555 0149")
    pa = wait_start(env, aid, sign_in="addr", cid="cid-addr", ip="198.51.100.7")
    stack.wait_for(lambda: len(pushes(env, aid)) >= 1, 5, "the first push")
    pa2 = wait_start(env, aid, sign_in="addr", cid="cid-addr", ip="198.51.100.7")
    pb = wait_start(env, aid, sign_in="addr", cid="cid-addr", ip="203.0.113.9")
    stack.wait_for(lambda: len(pushes(env, aid)) >= 2, 5, "a push for the other address")
    time.sleep(POLL_MS * 2 / 1000)
    sent = pushes(env, aid)
    t.check(len(sent) == 2, "one correlation id from another address -> a push of its own; "
            "the same address re-attaches", repr(sent))
    first = [p for p in sent if "198.51.100.7" in json.dumps(p)] or sent[:1]
    if first:
        prov(env).resolve(env["mock"], first[0]["uuid"], "approve")
    ra, ra2 = stack.fcgi_finish(pa), stack.fcgi_finish(pa2)
    t.check(ra.status == 200 and ra2.status == 200,
            "approving the first address's push answers both of its waits", f"{ra!r} {ra2!r}")
    time.sleep(POLL_MS * 3 / 1000)
    t.check(pb.poll() is None, "the other address is not answered by that approval")
    other = [p for p in sent if p not in first]
    if other:
        prov(env).resolve(env["mock"], other[0]["uuid"], "deny")
    rb = stack.fcgi_finish(pb)
    t.check(rb.status == 409 and code_of(rb) == "denied", "the other address gets its own outcome",
            repr(rb))


def flow_id_form(t, env):
    """An authyId with a leading zero names the user Authy knows without it: it
    is refused before it can key a push limit or a re-attach of its own."""
    aid = new_user(t, env, "never", "+1 312 555 0157")
    r = wait(env, "0" + aid, sign_in="zero", cid="cid-zero")
    t.check(r.status == 409 and code_of(r) == "authyid_invalid",
            "wait: authyId with a leading zero -> 409 authyid_invalid", repr(r))
    r = codes.send(env, "0" + aid, "7405918")
    t.check(r.status == 409 and code_of(r) == "authyid_invalid",
            "verifytoken: authyId with a leading zero -> 409 authyid_invalid", repr(r))
    t.check(not pushes(env, aid), "no push for an authyId with a leading zero",
            repr(pushes(env, aid)))


def flow_creator_leaves(t, env):
    """The request creating the push leaves (its client closed) while another
    request of the same sign-in waits: the push is still created, once, and
    answers the other request."""
    aid = new_user(t, env, "never", "+1 312 555 0158")
    m = env["mock"]
    # The creation's answer takes one to two seconds to arrive, byte by byte
    # (Verify's is about four times as long as Authy's).
    drip_ms = 6 if prov(env).name == "authy" else 1
    m.fault(match=prov(env).create_path(aid), mode="drip", count=1, delay_ms=drip_ms)
    a = wait_start(env, aid, sign_in="leaver")
    time.sleep(0.4)
    b = wait_start(env, aid, sign_in="leaver")
    time.sleep(0.3)
    a.kill()
    a.wait()
    stack.wait_for(lambda: pushes(env, aid), 5, "the push")
    sent = pushes(env, aid)
    if sent:
        prov(env).resolve(env["mock"], sent[0]["uuid"], "approve")
    rb = stack.fcgi_finish(b)
    t.check(rb.status == 200 and rb.json == APPROVED,
            "the creator's client leaves: the other request of the sign-in gets the approval",
            f"{rb!r} {rb.elapsed:.2f}s")
    t.check(len(pushes(env, aid)) == 1, "one push for both", repr(pushes(env, aid)))
    t.check("(after its request left)" in env["responder"].log_text(),
            "the push was created after its creator left")
    m.clear_faults()


def flow_all_leave_during_creation(t, env):
    """The only request of a sign-in leaves (B2C gave up) while its push is being
    created: the push may be out already, so the creation goes on, and B2C's
    retry re-attaches to it instead of sending a second push."""
    aid = new_user(t, env, "never", "+1 312 555 0163")
    m = env["mock"]
    drip_ms = 6 if prov(env).name == "authy" else 1
    m.fault(match=prov(env).create_path(aid), mode="drip", count=1, delay_ms=drip_ms)
    a = wait_start(env, aid, sign_in="all-leave")
    stack.wait_for(lambda: pushes(env, aid), 5, "the push reaching the API")
    a.kill()
    a.wait()
    def created_alone():
        return [ln for ln in env["responder"].log_text().splitlines()
                if "correlation_id=%s " % cid_of("all-leave") in ln and
                "uuid=" in ln and "(after its request left)" in ln]
    stack.wait_for(created_alone, 10, "the creation's end")
    t.check(created_alone(), "the creation finished after every request of the sign-in left")
    r = wait_start(env, aid, sign_in="all-leave")
    time.sleep(0.5)
    sent = pushes(env, aid)
    t.check(len(sent) == 1, "B2C's retry re-attaches: still one push", repr(sent))
    if sent:
        prov(env).resolve(env["mock"], sent[0]["uuid"], "approve")
    rr = stack.fcgi_finish(r)
    t.check(rr.status == 200 and rr.json == APPROVED, "the retry gets the approval",
            f"{rr!r} {rr.elapsed:.2f}s")
    m.clear_faults()


def flow_late_approval(t, env):
    """A push approved after its wait gave up: collected by its own sign-in only."""
    aid = new_user(t, env, "never", "+1 312 555 0151")
    r = wait(env, aid, sign_in="late", cid="cid-late-1")
    t.check(r.status == 409 and code_of(r) == "timeout", "first sign-in times out", repr(r))
    first = pushes(env, aid, "cid-late-1")
    if first:
        prov(env).resolve(env["mock"], first[0]["uuid"], "approve")
    p = wait_start(env, aid, sign_in="late", cid="cid-late-2")
    stack.wait_for(lambda: pushes(env, aid, "cid-late-2"), 5, "the second sign-in's push")
    time.sleep(POLL_MS * 3 / 1000)
    t.check(p.poll() is None, "a late approval is never collected by another sign-in")
    t.check(len(pushes(env, aid)) == 2, "another correlation id sends its own push",
            repr(pushes(env, aid)))
    prov(env).resolve(env["mock"], pushes(env, aid, "cid-late-2")[0]["uuid"], "deny")
    r2 = stack.fcgi_finish(p)
    t.check(r2.status == 409 and code_of(r2) == "denied", "the second sign-in: its own denial",
            repr(r2))
    r3 = wait(env, aid, sign_in="late", cid="cid-late-1")
    t.check(r3.status == 200 and r3.json == APPROVED and r3.elapsed < 1.5,
            "the same correlation id collects the late approval", f"{r3!r} {r3.elapsed:.2f}s")
    t.check(len(pushes(env, aid)) == 2, "collecting it sends no new push")


def flow_no_correlation(t, env):
    """A wait without a (valid) correlation id: refused without a push, unless allowed."""
    aid = new_user(t, env, "autoapprove200", "+1 312 555 0152")
    for cid, what in ((None, "absent"), ("bad id;", "invalid"), ("", "empty")):
        r = wait(env, aid, sign_in="nocid", cid=cid)
        t.check(r.status == 409 and code_of(r) == "correlation_missing" and
                r.json.get("userMessage") == MSG["B2C_MSG_CORRELATION_MISSING"],
                f"correlation id {what} -> 409 correlation_missing", repr(r))
    t.check(not pushes(env, aid), "no push without a correlation id", repr(pushes(env, aid)))
    t.check(env["responder"].refusals_warned("wait: correlation_missing", "wait refused: authy_id=") and
            len(env["responder"].log_lines_with("wait refused: authy_id=%s " % aid)) == 3,
            "each refusal is logged once, as a warning",
            repr(env["responder"].log_lines_with("correlation_missing")))
    loose = stack.Responder(env["work"], dict(env["settings"], require_correlation_id="false"),
                            name="loose")
    try:
        r = wait(env, aid, sign_in="nocid", cid=None, sock=loose.sock)
        t.check(r.status == 200 and r.json == APPROVED,
                "require_correlation_id = false: a wait without it is served", repr(r))
        r = wait(env, aid, sign_in="nocid", cid="bad id;", sock=loose.sock)
        t.check(r.status == 409 and code_of(r) == "correlation_missing",
                "require_correlation_id = false: an invalid one is still refused", repr(r))
    finally:
        loose.stop()


def flow_push_details(t, env):
    """The push shows the IP address and the application; the id is in the hidden details."""
    aid = new_user(t, env, "autoapprove100", "+1 312 555 0153")
    for n, (ip, shown) in enumerate((("203.0.113.7", "203.0.113.7"),
                                     ("2001:DB8:0::7", "2001:db8::7"))):
        cid = f"cid-ip-{n}"
        r = wait(env, aid, sign_in="ip-user", cid=cid, ip=ip)
        req = pushes(env, aid, cid)
        det = req[0].get("details", {}) if req else {}
        hid = req[0].get("hidden_details", {}) if req else {}
        t.check(r.status == 200 and det.get("IP address") == shown and
                det.get("Application") == APP_NAME and det.get("Sign-in name") == "ip-user",
                f"push shows IP {shown} and the application", f"{r!r} {req!r}"[:400])
        t.check(hid.get("correlation_id") == cid and hid.get("request_id"),
                "hidden details carry correlation id and request id", repr(hid))
    bad = ["203.0.113.8, 10.9.8.7", "evil.example.net", "<b>198.51.100.9</b>", "300.1.2.3",
           "fe80::1%eth0"]
    for n, ip in enumerate(bad):
        cid = f"cid-badip-{n}"
        r = wait(env, aid, sign_in="ip-user", cid=cid, ip=ip)
        req = pushes(env, aid, cid)
        det = req[0].get("details", {}) if req else {"missing": 1}
        t.check(r.status == 200 and "IP address" not in det,
                f"malformed IP {ip!r} left out of the push", f"{r!r} {det!r}")
    sent = json.dumps(env["mock"].requests())
    t.check(not any(ip in sent for ip in bad), "a malformed IP is never forwarded")


def flow_push_limit(t, env):
    """max_pushes_per_user: new pushes counted per user, re-attaches not."""
    lim = stack.Responder(env["work"], dict(env["settings"], max_pushes_per_user=2),
                          name="limit")
    try:
        aid = new_user(t, env, "never", "+1 312 555 0154")
        p1 = wait_start(env, aid, sign_in="lim", cid="cid-lim-1", sock=lim.sock)
        stack.wait_for(lambda: pushes(env, aid), 5, "the first push")
        p1b = wait_start(env, aid, sign_in="lim", cid="cid-lim-1", sock=lim.sock)
        time.sleep(0.5)
        p2 = wait_start(env, aid, sign_in="lim", cid="cid-lim-2", sock=lim.sock)
        stack.wait_for(lambda: len(pushes(env, aid)) >= 2, 5, "the second push")
        r3 = wait(env, aid, sign_in="lim", cid="cid-lim-3", sock=lim.sock)
        t.check(r3.status == 409 and code_of(r3) == "push_limited" and
                r3.json.get("userMessage") == MSG["B2C_MSG_PUSH_LIMITED"],
                "third push within the window -> 409 push_limited", repr(r3))
        p2b = wait_start(env, aid, sign_in="lim", cid="cid-lim-2", sock=lim.sock)
        time.sleep(0.5)
        t.check(len(pushes(env, aid)) == 2, "re-attaches do not count, no push over the limit",
                repr(pushes(env, aid)))
        for req in pushes(env, aid):
            prov(env).resolve(env["mock"], req["uuid"], "deny")
        done = [stack.fcgi_finish(p) for p in (p1, p1b, p2, p2b)]
        t.check(all(d.status == 409 and code_of(d) == "denied" for d in done),
                "the counted sign-ins and their retries get their outcome",
                repr([code_of(d) for d in done]))
        other = new_user(t, env, "autoapprove100", "+1 312 555 0155")
        r = wait(env, other, sign_in="lim-other", cid="cid-lim-other", sock=lim.sock)
        t.check(r.status == 200, "the limit is per user", repr(r))
        m = stack.fcgi(lim.sock, "GET", "/metrics", {}, b"", None).body.decode()
        t.check("b2c_authy_push_limited_total 1" in m, "push_limited metric counts the refusal",
                m[-300:])
        said = "push limit: authy_id=%s correlation_id=cid-lim-3" % aid
        t.check(lim.refusals_warned("wait: push_limited", "push limit: authy_id=") and
                len(lim.log_lines_with(said)) == 1, "the refusal is logged once, as a warning",
                repr(lim.log_lines_with("wait: push_limited")))
        if prov(env).name == "verify":
            flow_limit_no_factor(t, env, lim)
        flow_limit_failed_creations(t, env, lim)
        flow_limit_reset_creations(t, env, lim)
    finally:
        lim.stop()


def flow_limit_reset_creations(t, env, lim):
    """A creation the API acted on before the connection was reset sent a push: it counts,
    or a connection that keeps failing after the push gives unlimited pushes."""
    aid = new_user(t, env, "never.reset", "+1 312 555 0162")
    for i in range(2):
        env["mock"].fault(match=prov(env).create_path(aid), mode="reset", count=1)
        w = wait(env, aid, sign_in="lim-reset", cid=f"cid-lim-reset-{i}", sock=lim.sock)
        t.check(w.status == 409 and code_of(w) == "upstream_protocol",
                f"creation {i + 1} reset after the push -> 409 {code_of(w)}", repr(w))
        env["mock"].clear_faults()
    t.check(len(pushes(env, aid)) == 2, "both reset creations sent a push",
            repr(pushes(env, aid)))
    w = wait(env, aid, sign_in="lim-reset", cid="cid-lim-reset-3", sock=lim.sock)
    t.check(w.status == 409 and code_of(w) == "push_limited",
            "pushes sent by reset creations count -> push_limited", repr(w))
    t.check(len(pushes(env, aid)) == 2, "no push over the limit", repr(pushes(env, aid)))


def flow_limit_failed_creations(t, env, lim):
    """Creations the API refused (5xx, 429) sent no push and do not count: once the API
    is back, the user gets a push at once instead of push_limited."""
    aid = new_user(t, env, "autoapprove100.fail", "+1 312 555 0161")
    refusals = [{"mode": "status", "status": 503}, {"mode": "ratelimit"},
                {"mode": "status", "status": 500}]
    for i, fault in enumerate(refusals):
        env["mock"].fault(match="/", **dict(fault, count=1))
        w = wait(env, aid, sign_in="lim-fail", cid=f"cid-lim-fail-{i}", sock=lim.sock)
        t.check(w.status == 409 and code_of(w) in ("upstream_http", "rate_limited"),
                f"refused creation {i + 1} -> 409 {code_of(w)}", repr(w))
        env["mock"].clear_faults()
    w = wait(env, aid, sign_in="lim-fail", cid="cid-lim-fail-ok", sock=lim.sock)
    t.check(w.status == 200 and w.json == APPROVED,
            "after refused creations the push is sent (they did not count)", repr(w))


def flow_limit_no_factor(t, env, lim):
    """Verify: waits that find no push factor send no push and do not count."""
    r = register(env, "setup-later@example.com", "+1 312 555 0156")
    aid = r.json["authyId"]
    for i in range(3):
        w = wait(env, aid, sign_in="setup-later", cid=f"cid-nf-{i}", sock=lim.sock)
        t.check(w.status == 200 and w.json == {"factorStatus": "none"},
                f"verify: no factor, try {i + 1} -> 200 factorStatus none", repr(w))
    prov(env).enrol(env, aid, "autoapprove100")
    w = wait(env, aid, sign_in="setup-later", cid="cid-nf-ok", sock=lim.sock)
    t.check(w.status == 200 and w.json == APPROVED,
            "verify: after set-up the push is sent (set-up tries did not count)", repr(w))


CALLBACK_URL = "https://b2c.example.com/api/authy/callback"
APP_NAME = "Contoso Web"


def send_callback(sock, cb, signature=None, nonce=None, body=None):
    params = {"HTTP_X_AUTHY_SIGNATURE": signature or cb["headers"]["X-Authy-Signature"],
              "HTTP_X_AUTHY_SIGNATURE_NONCE": nonce or cb["headers"]["X-Authy-Signature-Nonce"],
              "HTTP_HOST": "b2c.example.com"}
    return stack.fcgi(sock, "POST", "/api/authy/callback", params,
                      body if body is not None else cb["body"])


def flow_callback(t, env):
    """A verified callback wakes the waiter long before the next poll."""
    sys.path.insert(0, os.path.join(stack.ROOT, "tests", "mock"))
    import mock_authy
    slow = stack.Responder(env["work"], dict(env["settings"], poll_interval_ms=3500,
                                             callback_url=CALLBACK_URL), name="callback")
    try:
        r = stack.fcgi(slow.sock, "POST", REGISTER, stack.cert_params(env["certs"], "client"),
                       json.dumps({"email": "never+cb@example.com",
                                   "phoneNumber": "+1 720 555 0142"}))
        aid = r.json["authyId"]
        p = wait_start(env, aid, sign_in="cb-user", sock=slow.sock)
        time.sleep(0.5)
        uuid = env["mock"].approvals(aid)[0]["uuid"]
        env["mock"].call("POST", f"/_mock/approval_requests/{uuid}/approve")
        cbs = [c for c in env["mock"].callbacks() if uuid in c["body"]]
        t.check(len(cbs) == 1, "mock signed one callback", repr(cbs)[:200])
        cb = cbs[0]
        bad = send_callback(slow.sock, cb, signature="AAAA" + cb["headers"]["X-Authy-Signature"][4:])
        t.check(bad.status == 401 and b2c_shaped(bad), "badly signed callback -> 401", repr(bad))
        tampered = send_callback(slow.sock, cb, body=cb["body"].replace("approved", "denied"))
        t.check(tampered.status == 401, "tampered callback -> 401", repr(tampered))
        unsigned = stack.fcgi(slow.sock, "POST", "/api/authy/callback",
                              {"HTTP_HOST": "b2c.example.com"}, cb["body"])
        t.check(unsigned.status == 401, "unsigned callback -> 401", repr(unsigned))
        ok = send_callback(slow.sock, cb)
        t.check(ok.status == 200, "signed callback accepted", repr(ok))
        r = stack.fcgi_finish(p)
        t.check(r.status == 200 and r.elapsed < 1.5,
                "callback wakes the waiter before the first poll", f"{r!r} {r.elapsed:.2f}s")
        again = send_callback(slow.sock, cb)
        t.check(again.status == 401, "replayed callback -> 401", repr(again))
        params = json.loads(cb["body"])
        old = str(int(time.time()) - 3600)
        stale_sig = mock_authy.callback_signature(stack.API_KEY, old, "POST", CALLBACK_URL,
                                                  params)
        stale = send_callback(slow.sock, cb, signature=stale_sig, nonce=old)
        t.check(stale.status == 401, "stale nonce -> 401", repr(stale))
        params["uuid"] = "00000000-0000-0000-0000-000000000000"
        nonce = str(int(time.time()))
        sig = mock_authy.callback_signature(stack.API_KEY, nonce, "POST", CALLBACK_URL, params)
        unknown = send_callback(slow.sock, cb, signature=sig, nonce=nonce,
                                body=json.dumps(params))
        t.check(unknown.status == 200, "signed callback for another instance's uuid -> 200",
                repr(unknown))
        text = slow.log_text()
        t.check("callback signature does not match" in text and "callback replayed" in text,
                "refused callbacks are logged")
        woke = [ln for ln in text.splitlines() if f"callback uuid={uuid}" in ln and "woke" in ln]
        t.check(woke and " rid=- " not in woke[0],
                "the callback's line after waking its waiter keeps the callback's id",
                repr(woke))
    finally:
        slow.stop()


def flow_overload(t, env):
    """With max_waits requests waiting, one more gets a B2C-shaped 503 at once."""
    full = stack.Responder(env["work"], dict(env["settings"], max_waits=2),
                           name="overload")
    try:
        aid = new_user(t, env, "never", "+1 720 555 0166")
        busy = [wait_start(env, aid, sign_in=f"ov{i}", sock=full.sock) for i in range(2)]
        time.sleep(0.8)
        extra = wait(env, aid, sign_in="ov-extra", sock=full.sock)
        t.check(extra.status == 503 and b2c_shaped(extra) and extra.elapsed < 1.0 and
                extra.headers.get("retry-after") == "5",
                "max_waits waiting -> 503 with Retry-After at once", f"{extra!r} {extra.elapsed:.2f}s")
        done = [stack.fcgi_finish(p) for p in busy]
        t.check(all(d.status == 409 for d in done), "the busy waits still end normally",
                repr([d.status for d in done]))
        after = stack.fcgi(full.sock, "GET", "/healthz", {}, b"", None)
        t.check(after.status == 200, "serving again once the waits are over", repr(after))
    finally:
        full.stop()


def flow_health_metrics(t, env):
    r = stack.fcgi(env["sock"], "GET", "/healthz", {}, b"", None)
    t.check(r.status == 200 and r.json == {"status": "ok"}, "healthz", repr(r))
    # Monitors that check with HEAD: the headers of the GET, its length, no body.
    h = stack.fcgi(env["sock"], "HEAD", "/healthz", {}, b"", None)
    t.check(h.status == 200 and h.body == b"" and
            h.headers.get("content-length") == str(len(r.body)), "HEAD /healthz", repr(h))
    # The web server's request id as it is (mod_unique_id's alphabet has '@'); one
    # that could forge a log field is replaced by the responder's own.
    for rid, kept in (("YmQ@x-Zk_9AAAB0c1kAAAAE", True), ("id with space", False)):
        r = stack.fcgi(env["sock"], "GET", "/healthz", {"REQUEST_ID": rid}, b"", None)
        end = time.monotonic() + 5  # the access line follows the reply
        while time.monotonic() < end and \
                (f"rid={rid} " in env["responder"].log_text()) != kept:
            time.sleep(0.05)
        t.check(r.status == 200 and (f"rid={rid} " in env["responder"].log_text()) == kept,
                f"request id {rid!r} {'kept' if kept else 'replaced'}", repr(r))
    # A caller's X-Request-Id (or X_Request_Id, which lighttpd passes under the same
    # name even when the site drops X-Request-Id) is not the web server's id.
    seen = env["responder"].log_text().count('path="/healthz"')
    r = stack.fcgi(env["sock"], "GET", "/healthz", {"HTTP_X_REQUEST_ID": "chosen-by-caller"},
                   b"", None)
    end = time.monotonic() + 5  # the access line follows the reply
    while time.monotonic() < end and env["responder"].log_text().count('path="/healthz"') == seen:
        time.sleep(0.05)
    log = env["responder"].log_text()
    t.check(r.status == 200 and log.count('path="/healthz"') > seen and
            "chosen-by-caller" not in log, "a caller's X-Request-Id header is not the request id",
            repr(r))
    r = stack.fcgi(env["sock"], "GET", "/metrics", {}, b"", None)
    text = r.body.decode()
    h = stack.fcgi(env["sock"], "HEAD", "/metrics", {}, b"", None)
    t.check(h.status == 200 and h.body == b"" and
            h.headers.get("content-type") == r.headers.get("content-type"), "HEAD /metrics",
            repr(h))
    t.check(r.status == 200 and r.headers.get("content-type", "").startswith("text/plain"),
            "metrics served as text", repr(r)[:200])
    t.check(re.search(r'b2c_authy_requests_total\{route="register",outcome="ok"\} [1-9]', text)
            is not None, "metrics count registrations")
    t.check("b2c_authy_upstream_seconds_bucket" in text and "b2c_authy_pending_approvals" in
            text, "metrics have latency and pending gauges")


def flow_shutdown(t, env):
    aid = new_user(t, env, "autoapprove1500", "+1 650 555 0999")
    # A second sign-in whose request left while its push is being created (the
    # answer drips in for several seconds): shutdown abandons the creation and
    # says so, since B2C's retry cannot find it in the next process.
    left = new_user(t, env, "never", "+1 650 555 0998")
    drip_ms = 40 if prov(env).name == "authy" else 10
    env["mock"].fault(match=prov(env).create_path(left), mode="drip", count=1, delay_ms=drip_ms)
    a = wait_start(env, left, sign_in="drain-left")
    stack.wait_for(lambda: pushes(env, left), 5, "the push reaching the API")
    a.kill()
    a.wait()
    # SIGHUP and SIGUSR1 reload nothing: each is ignored with a warning.
    for sig, name in ((signal.SIGHUP, "SIGHUP"), (signal.SIGUSR1, "SIGUSR1")):
        env["responder"].proc.send_signal(sig)
        def warned(name=name):
            return [ln for ln in env["responder"].log_text().splitlines()
                    if "level=warn " in ln and
                    f"{name} ignored: the configuration is read only at start" in ln]
        stack.wait_for(warned, 5, f"the {name} warning")
        r = stack.fcgi(env["sock"], "GET", "/healthz", {}, b"", None)
        t.check(r.status == 200 and len(warned()) == 1,
                f"{name} is ignored with a warning and the responder serves on", repr(r))
    p = wait_start(env, aid, sign_in="drain")
    time.sleep(0.5)
    t0 = time.monotonic()
    env["responder"].proc.send_signal(signal.SIGTERM)
    r = stack.fcgi_finish(p)
    t.check(r.status == 200, "SIGTERM lets the in-flight wait finish", repr(r))
    code = env["responder"].stop(timeout=BUDGET_MS / 1000 + 5)
    t.check(code == 0, "exit status 0 after SIGTERM", str(code))
    t.check(time.monotonic() - t0 < BUDGET_MS / 1000 + 2, "drained within the budget")
    t.check(not os.path.exists(env["sock"]), "socket file removed on exit")
    abandoned = [ln for ln in env["responder"].log_text().splitlines()
                 if "abandoned at shutdown" in ln]
    t.check(len(abandoned) == 1 and f"correlation_id={cid_of('drain-left')} " in abandoned[0]
            and "rid=" in abandoned[0],
            "a creation whose request left is abandoned at shutdown with a log line",
            repr(abandoned))
    env["mock"].clear_faults()


def sent_phones():
    """National numbers (7+ digits) of every phone number the tests send."""
    out = set()
    sources = [open(p).read() for p in glob.glob(os.path.join(stack.ROOT, "tests", "cases",
                                                                "*.case"))]
    sources.append(open(__file__).read())
    for text in sources:
        for m in re.finditer(r'"\+[0-9][0-9 ().-]{6,}[0-9]"', text):
            digits = re.sub(r"\D", "", m.group(0))
            out.add(digits[-7:])
    return out


def scan_logs(t, env, paths):
    text = "".join(open(p, errors="replace").read() for p in paths if os.path.exists(p))
    t.check(not any(s in text for s in prov(env).secrets()), "API key never logged")
    phones = sent_phones()
    leaked = sorted(p for p in phones if p in re.sub(r"[ ().-]", "", text))
    t.check(len(phones) > 10 and not leaked, "no unmasked phone numbers in logs",
            f"{len(phones)} numbers, leaked {leaked[:5]}")
    t.check("@example.com" not in text.replace("***@example.com", ""),
            "email addresses masked in logs")
    t.check("level=info" in text and "event=access" in text, "logfmt access lines written")
    t.check(text.count("event=access") >= 40, "one access line per request",
            str(text.count("event=access")))


def main():
    t = stack.Counter()
    if not os.access(stack.BIN, os.X_OK) or not shutil.which("cgi-fcgi"):
        t.skip("responder binary or cgi-fcgi missing")
        return t.summary()
    load_messages()
    work = stack.tempdir()
    env = {}
    try:
        env["certs"] = stack.make_certs(work)
        tp = stack.thumbprints(env["certs"])
        env["provider"] = backend = provider.current()
        env["e2e"] = sys.modules[__name__]  # the helpers provider.py's flows use
        env["mock"] = stack.Mock(work, env["certs"], extra=backend.mock_extra(CALLBACK_URL))
        env["work"] = work
        settings = dict(backend.settings(env["mock"].url), **{
            "authy_ca_file": os.path.join(env["certs"], "ca.pem"),
            "client_cert_thumbprints": f"{tp['client']}, {tp['client-expired']}",
            "wait_budget_ms": BUDGET_MS, "poll_interval_ms": POLL_MS, "approval_ttl_s": 30,
            "log_level": "info", "approval_app_name": APP_NAME,
            # the concurrency flow pushes one user eight times; flow_push_limit tests the limit
            "max_pushes_per_user": 100})
        env["settings"] = settings
        env["responder"] = stack.Responder(work, settings)
        env["sock"] = env["responder"].sock
        cases = [parse_case(p) for p in
                 sorted(glob.glob(os.path.join(stack.ROOT, "tests", "cases", "*.case")))]
        for case in cases:
            if case.get("provider", backend.name) == backend.name:
                run_case(t, env, case)
        alive = stack.fcgi(env["sock"], "GET", "/healthz", {}, b"", None)
        t.check(alive.status == 200, "still serving after every bad case")
        bad = sum(1 for c in cases if c.get("status", 200) >= 400)
        t.check(bad >= 50, "the catalogue holds at least 50 bad requests", str(bad))
        callback = flow_callback if backend.name == "authy" else provider.flow_webhook
        for flow in (flow_approve, flow_outcomes, flow_retry_reattach, flow_abort, flow_faults,
                     flow_proxy, flow_concurrency, callback, flow_overload, flow_binding, flow_binding_ip,
                     flow_id_form, flow_creator_leaves, flow_all_leave_during_creation,
                     flow_late_approval, flow_no_correlation,
                     flow_push_details, flow_push_limit, *backend.extra_flows(), *codes.flows(backend),
                     flow_health_metrics,
                     flow_shutdown):
            try:
                flow(t, env)
            except Exception as e:  # a broken flow is a failure, not a crash of the suite
                t.check(False, flow.__name__, repr(e))
        scan_logs(t, env, [env["responder"].log])
    finally:
        if "responder" in env:
            env["responder"].stop(timeout=10)
        if "mock" in env:
            env["mock"].close()
        stack.remove_tempdir(work)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
