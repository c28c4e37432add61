"""instances.py - two b2c-authy responders behind one nginx name, with the
shipped nginx/b2c-authy-instances.conf (consistent hash over the account a
call names, else over the request body) applied to the shipped site as its
comment says. The mock delivers signed OneTouch callbacks through the site.

Checks: different accounts spread over both instances; every sign-in of one
account reaches one instance, so max_pushes_per_user holds across instances;
each callback reaches the instance that holds its push; a retry after a client
timeout reaches the same instance and re-attaches (one push at the mock);
when an instance dies, the call in flight on it gets nginx's 502 JSON, its
retry and every new sign-in go to the other instance (the retry sends a new
push, as docs/deployment.md says).

Ends with "N passed, N failed"; skips when nginx, spawn-fcgi or curl is missing.
"""
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import e2e  # noqa: E402  (the user messages, read from src/b2c/b2c.h)
import stack  # noqa: E402
import webservers  # noqa: E402
from webservers import REGISTER, WAIT, SOCKET  # noqa: E402

BUDGET_MS = 4000
MAX_PUSHES = 3
APPROVED = {"authyApproved": True}
INSTANCES = os.path.join(stack.ROOT, "nginx", "b2c-authy-instances.conf")


class ClusterNginx(webservers.Nginx):
    """The shipped site with fastcgi_pass b2c_authy, plus the upstream block."""

    def __init__(self, workdir, certs, socks):
        self.socks = socks
        super().__init__(workdir, certs, socks[0])
        site = os.path.join(self.dir, "b2c-authy.conf")
        upstream = os.path.join(self.dir, "b2c-authy-instances.conf")
        webservers.render(INSTANCES, upstream, [
            ("/run/b2c-authy/b2c-authy-1.sock", socks[0]),
            ("/run/b2c-authy/b2c-authy-2.sock", socks[1])])
        with open(self.conf) as f:
            main = f.read()
        with open(self.conf, "w") as f:
            f.write(main.replace(f"\tinclude {site};", f"\tinclude {upstream};\n\tinclude {site};"))

    def tls_subs(self):
        # The two edits the instances file asks for, instead of the socket path.
        return [s for s in super().tls_subs() if s[0] != SOCKET] + [
            ("fastcgi_pass b2c_authy_local;", "fastcgi_pass b2c_authy;"),
            ("fastcgi_next_upstream off;", "fastcgi_next_upstream error timeout;")]


class Run:
    def __init__(self, t, work):
        self.t = t
        self.work = work
        self.certs = stack.make_certs(work)
        self.tp = stack.thumbprints(self.certs)
        self.curl = webservers.Curl(work, self.certs)
        self.socks = [os.path.join(work, f"b2c-authy-{i}.sock") for i in (1, 2)]
        self.mock = None
        self.web = None
        self.resp = []
        self.phone = 0

    def setup(self):
        self.web = ClusterNginx(self.work, self.certs, self.socks)
        self.mock = stack.Mock(self.work, self.certs, extra=[
            "--callback-url", self.web.callback_url, "--callback-deliver",
            "--callback-ca", os.path.join(self.certs, "ca.pem")])
        settings = {"authy_api_key": stack.API_KEY, "authy_api_url": self.mock.url,
                    "authy_ca_file": os.path.join(self.certs, "ca.pem"),
                    "client_cert_thumbprints": self.tp["client"],
                    "wait_budget_ms": BUDGET_MS, "poll_interval_ms": 200,
                    "approval_ttl_s": 60, "max_pushes_per_user": MAX_PUSHES,
                    "callback_url": self.web.callback_url}
        self.resp = [webservers.SpawnedResponder(self.work, settings, s, name=f"r{i + 1}")
                     for i, s in enumerate(self.socks)]
        ok, out = self.web.check_config()
        self.t.check(ok, "nginx accepts the site with the instances upstream", out[-1500:])
        self.web.start()

    def close(self):
        for part in [self.web] + self.resp + [self.mock]:
            if part is None:
                continue
            try:
                part.stop() if hasattr(part, "stop") else part.close()
            except Exception as e:  # keep stopping the rest
                print(f"# stopping {part}: {e!r}")

    # ---- helpers ----

    def new_user(self, prefix):
        self.phone += 1
        r = self.curl(self.web.url + REGISTER,
                      body={"email": f"{prefix}+{self.phone}@example.com",
                            "phoneNumber": f"+1 415 555 {2000 + self.phone}"})
        aid = (r.json or {}).get("authyId") if isinstance(r.json, dict) else None
        self.t.check(r.status == 200 and aid, f"register {prefix} through the upstream", repr(r))
        return str(aid)

    def body(self, aid, name):
        return {"authyId": aid, "signInName": f"{name}@example.com",
                "correlationId": f"cid-{name}"}

    def served_by(self, aid):
        """Indexes of the responders whose log shows a wait for aid."""
        return [i for i, r in enumerate(self.resp)
                if re.search(rf"approval (requested|outcome) authy_id={aid} ", r.log_text())]

    def refused_callbacks(self, i):
        return self.resp[i].log_text().count("route=callback status=401")

    # ---- checks ----

    def check_spread(self):
        t = self.t
        aids = [self.new_user("autoapprove300") for _ in range(10)]
        started = [self.curl.start(self.web.url + WAIT, body=self.body(a, f"spread{i}"))
                   for i, a in enumerate(aids)]
        replies = [self.curl.finish(p) for p in started]
        t.check(all(r.status == 200 and r.json == APPROVED for r in replies),
                "10 sign-ins through the upstream: all approved", repr(replies[:3]))
        where = {a: self.served_by(a) for a in aids}
        t.check(all(len(w) == 1 for w in where.values()), "each wait ran on one instance",
                repr(where))
        counts = [sum(1 for w in where.values() if w == [i]) for i in (0, 1)]
        t.check(counts[0] > 0 and counts[1] > 0, "different sign-ins spread over both instances",
                repr(counts))
        self.spread = where

    def check_one_account(self):
        """Sign-ins of one account, each with its own correlationId, reach one instance: the
        push limit counts them all. Hashed by body, they would spread, each instance counting
        its own."""
        t = self.t
        aid = self.new_user("autoapprove100")
        n = 2 * MAX_PUSHES
        replies = [self.curl(self.web.url + WAIT, body=self.body(aid, f"one{i}"))
                   for i in range(n)]
        ok = [r for r in replies if r.status == 200 and r.json == APPROVED]
        msg = e2e.MSG["B2C_MSG_PUSH_LIMITED"]
        limited = [r for r in replies if webservers.b2c_error(r, 409, msg)]
        t.check(len(ok) == MAX_PUSHES and len(limited) == n - MAX_PUSHES,
                f"{n} sign-ins of one account: {MAX_PUSHES} approved, the rest over "
                "max_pushes_per_user, counted across instances",
                repr([(r.status, (r.json or {}).get("code") if isinstance(r.json, dict) else None)
                      for r in replies]))
        t.check(len(self.served_by(aid)) == 1, "all of them reached one instance",
                repr(self.served_by(aid)))

    def check_callbacks(self):
        """Each OneTouch callback, routed by its authy_id, reaches the instance holding the
        push it reports."""
        t = self.t
        aids = [self.new_user("never") for _ in range(6)]
        started = [self.curl.start(self.web.url + WAIT, body=self.body(a, f"cb{i}"))
                   for i, a in enumerate(aids)]
        for a in aids:
            stack.wait_for(lambda: self.mock.approvals(a), 5, "the push")
        uuids = {a: self.mock.approvals(a)[0]["uuid"] for a in aids}
        for a in aids:
            self.mock.call("POST", f"/_mock/approval_requests/{uuids[a]}/approve")
        replies = [self.curl.finish(p) for p in started]
        t.check(all(r.status == 200 and r.json == APPROVED for r in replies),
                "6 pushes approved while their callbacks are on the way", repr(replies[:2]))

        def seen(u):
            return [i for i, r in enumerate(self.resp) if f"callback uuid={u} " in r.log_text()]
        for a in aids:
            stack.wait_for(lambda: seen(uuids[a]), 5, "the callback")
        where = {a: (self.served_by(a), seen(uuids[a])) for a in aids}
        t.check(all(len(w) == 1 and w == c for w, c in where.values()),
                "each callback reached the instance that holds its push, and only that one",
                repr(where))
        # A Verify webhook names the account as entity_identity, in a form or in JSON; unsigned,
        # it is refused, by the instance that holds that account.
        for a in aids[:3]:
            for kind, ctype, body in (
                    ("form", "application/x-www-form-urlencoded",
                     f"type=challenge.approved&entity_identity={a}&uuid=x"),
                    ("json", "application/json",
                     json.dumps({"type": "challenge.approved", "entity_identity": a}))):
                before = [self.refused_callbacks(i) for i in (0, 1)]
                r = self.curl(self.web.callback_url, cert=None,
                              extra=self.web.resolve + ["-H", f"Content-Type: {ctype}",
                                                        "--data-binary", body])
                stack.wait_for(lambda: sum(map(self.refused_callbacks, (0, 1))) > sum(before),
                               5, "the refusal's log line")
                after = [self.refused_callbacks(i) for i in (0, 1)]
                grew = [i for i in (0, 1) if after[i] > before[i]]
                t.check(r.status == 401 and grew == where[a][0],
                        f"an unsigned {kind} webhook naming entity_identity {a} is refused by "
                        "the instance holding that account", f"{r!r} {grew} {where[a]}")

    def check_retry(self):
        t = self.t
        aid = self.new_user("never")
        body = self.body(aid, "retry")
        r = self.curl(self.web.url + WAIT, body=body, timeout=1.5)
        t.check(r.rc == 28, "first try: the client gives up after 1.5 s", repr(r))
        p = self.curl.start(self.web.url + WAIT, body=body)
        time.sleep(0.8)
        reqs = self.mock.approvals(aid)
        t.check(len(reqs) == 1, "the retry re-attaches: one push at the mock", repr(reqs))
        if reqs:
            self.mock.call("POST", f"/_mock/approval_requests/{reqs[0]['uuid']}/approve")
        r = self.curl.finish(p)
        t.check(r.status == 200 and r.json == APPROVED, "the retry gets the approval", repr(r))
        where = self.served_by(aid)
        t.check(len(where) == 1, "both tries reached the same instance", repr(where))
        if where:
            m = stack.fcgi(self.socks[where[0]], "GET", "/metrics", {}, b"", None)
            t.check(re.search(rb"^b2c_authy_reattached_total 1$", m.body, re.M) is not None,
                    "that instance counts one re-attached wait", m.body[-300:])

    def check_instance_dies(self):
        t = self.t
        aid = self.new_user("never")
        body = self.body(aid, "dies")
        p = self.curl.start(self.web.url + WAIT, body=body)
        stack.wait_for(lambda: self.served_by(aid), 5, "the wait to reach an instance")
        dead = self.served_by(aid)[0]
        alive = 1 - dead
        self.resp[dead].proc.send_signal(signal.SIGKILL)
        self.resp[dead].proc.wait()
        r = self.curl.finish(p)
        t.check(webservers.b2c_error(r, 502),
                "the call in flight on the dead instance: nginx 502 JSON, not replayed", repr(r))
        p = self.curl.start(self.web.url + WAIT, body=body)
        stack.wait_for(lambda: len(self.mock.approvals(aid)) >= 2, 5, "a second push")
        reqs = self.mock.approvals(aid)
        t.check(len(reqs) == 2, "its retry reaches the other instance and sends a new push",
                repr(reqs))
        self.mock.call("POST", f"/_mock/approval_requests/{reqs[-1]['uuid']}/approve")
        r = self.curl.finish(p)
        t.check(r.status == 200 and r.json == APPROVED,
                "the retry is approved on the other instance", repr(r))
        # Sign-ins of accounts that were on the dead instance, and new ones.
        moved = [a for a, w in self.spread.items() if w == [dead]]
        calls = [self.body(a, f"spread{i}") for i, a in enumerate(self.spread) if a in moved]
        calls += [self.body(self.new_user("autoapprove200"), f"new{i}") for i in range(4)]
        replies = [self.curl(self.web.url + WAIT, body=b) for b in calls]
        t.check(moved and all(r.status == 200 and r.json == APPROVED for r in replies),
                f"{len(calls)} sign-ins after the death, {len(moved)} of them of accounts "
                "on the dead instance: all approved", repr([r.status for r in replies]))
        log = self.resp[alive].log_text()
        t.check(all(re.search(rf"authy_id={b['authyId']} correlation_id=\S+ outcome=approved",
                              log) for b in calls),
                "all of them served by the surviving instance")


def missing():
    for name in ("nginx", "spawn-fcgi", "curl", "cgi-fcgi"):
        if webservers.which(name) is None:
            return f"{name} not installed"
    if not os.access(stack.BIN, os.X_OK):
        return f"{stack.BIN} not built (run make)"
    return None


def main():
    t = stack.Counter()
    e2e.load_messages()
    why = missing()
    if why:
        t.skip(why)
        return t.summary()
    work = stack.tempdir()
    os.chmod(work, 0o711)  # nginx's workers reach the sockets inside
    started = time.monotonic()
    run = Run(t, work)
    try:
        run.setup()
        for step in (run.check_spread, run.check_one_account, run.check_callbacks,
                     run.check_retry, run.check_instance_dies):
            try:
                step()
            except Exception as e:  # a broken step is a failure, not a crash of the suite
                t.check(False, step.__name__, repr(e))
    except Exception as e:
        t.check(False, "setup", repr(e))
    finally:
        run.close()
        if t.failed:
            for r in run.resp:
                print(f"# {os.path.basename(r.log)} (tail):\n" + r.log_text()[-2000:])
            if run.web is not None:
                print(run.web.errors())
        stack.remove_tempdir(work)
    print(f"# instances suite took {time.monotonic() - started:.1f}s")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
