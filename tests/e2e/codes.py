"""codes.py - end-to-end flows of POST /api/identity/verifytoken, the
one-time code fallback, through the real binary against the mock: a right
code gives {"authyApproved":true}, a wrong one the 409 of its own; Authy's
verification is forced (the mock accepts any code for a user who has not
registered the app unless force=true is sent); codes not accepted are limited
per authyId and a right code clears the count; a right code is accepted
once (seen again: 409 token_used); a code typed grouped ("123 4567") is the
code; with provider = verify the code goes through a TOTP factor; no code
reaches a log, also at debug level.
Every code sent is added to stack.ONE_TIME_CODES, which the log scan of every
responder checks.
"""
import json
import re

import stack

VERIFY_TOKEN = "/api/identity/verifytoken"
MAX_ATTEMPTS = 5  # the default max_code_attempts


def send(env, authy_id, token, sock=None, cid="6f1e2d3c-0000-4000-8000-00000000c0de",
         ip=None, name="code-user", email=None):
    if isinstance(token, str):
        stack.ONE_TIME_CODES.add(token)
        stack.ONE_TIME_CODES.add(re.sub(r"[ -]", "", token))
    body = {"authyId": authy_id, "token": token, "signInName": name, "correlationId": cid}
    if ip is not None:
        body["ipAddress"] = ip
    if email is not None:
        body["email"] = email
    return stack.fcgi(sock or env["sock"], "POST", VERIFY_TOKEN,
                      stack.cert_params(env["certs"], "client"), json.dumps(body))


def other_code(code):
    """A code of the same length that is not the right one."""
    return str((int(code) + 5000) % 10 ** len(code)).zfill(len(code))


def is_409(env, r, msg, code):
    return (r.status == 409 and isinstance(r.json, dict) and
            r.json.get("userMessage") == env["e2e"].MSG[msg] and r.json.get("code") == code)


# ---- what differs between the providers ----

class AuthyCodes:
    def user(self, t, env, phone, app=True):
        aid = env["e2e"].new_user(t, env, "never", phone)
        if app:
            env["mock"].call("POST", f"/_mock/users/{aid}/app")
        return aid

    def code(self, env, aid):
        return env["mock"].call("GET", f"/_mock/users/{aid}/token")["token"]

    def verify_calls(self, env):
        return [x for x in env["mock"].requests()
                if x["path"].startswith("/protected/json/verify/")]

    def sent_code(self, call):
        """The code a verification call carried: /protected/json/verify/{token}/{id}."""
        return call["path"].split("/")[4]


class VerifyCodes:
    def __init__(self):
        self.factors = {}

    def user(self, t, env, phone, app=True):
        aid = env["e2e"].new_user(t, env, "never", phone)
        f = env["mock"].call("POST", f"/_mock/verify/entities/{aid}/factors",
                             {"friendly_name": "authenticator", "factor_type": "totp"})
        self.factors[aid] = f["sid"]
        return aid

    def code(self, env, aid):
        return env["mock"].call("GET", f"/_mock/verify/factors/{self.factors[aid]}/code")["code"]

    def verify_calls(self, env):
        return [x for x in env["mock"].requests()
                if x["method"] == "POST" and x["path"].endswith("/Challenges")]

    def sent_code(self, call):
        return call["params"].get("AuthPayload")


def codes(env):
    if "codes" not in env:
        env["codes"] = VerifyCodes() if env["provider"].name == "verify" else AuthyCodes()
    return env["codes"]


# ---- flows ----

def flow_code_right_wrong(t, env):
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0301")
    right = p.code(env, aid)
    r = send(env, aid, right)
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verifytoken: right code -> 200 authyApproved", repr(r))
    r = send(env, aid, other_code(right))
    t.check(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong"),
            "verifytoken: wrong code -> 409 token_wrong", repr(r))
    r = send(env, "987654321" if env["provider"].name == "authy" else "9" * 20, right)
    t.check(is_409(env, r, "B2C_MSG_USER_NOT_FOUND", "user_not_found"),
            "verifytoken: unknown authyId -> 409 user_not_found", repr(r))


def flow_code_once(t, env):
    """A right code is accepted once: the same code again, from another sign-in, within
    its time step, is refused as used (with its own message, so the user waits for the
    next code) and counts as an attempt; a call without correlation id is refused before
    the code is looked at, as the wait is, and costs no attempt. B2C's retry of the
    sign-in the code approved (a 200 lost on the way) is approved again; the sign-in is
    bound as the wait's re-attach is: the same correlation id from another address or for
    another name or email is another sign-in."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0310")
    right = p.code(env, aid)
    r = send(env, aid, right, cid="code-once-user", ip="203.0.113.30")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verifytoken: right code -> 200", repr(r))
    n = len(p.verify_calls(env))
    r = send(env, aid, right, cid="code-once-user", ip="203.0.113.30")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verifytoken: B2C's retry of the same sign-in -> 200 again", repr(r))
    t.check("code accepted before for this sign-in, approved again authy_id=" + aid in
            env["responder"].log_text(), "verifytoken: the retry is logged")
    others = [send(env, aid, right, cid="code-once-user", ip="198.51.100.30"),
              send(env, aid, right, cid="code-once-user", ip="203.0.113.30", name="other-user")]
    t.check(all(is_409(env, x, "B2C_MSG_TOKEN_USED", "token_used") for x in others),
            "verifytoken: its correlation id from another address or for another name "
            "-> 409 token_used", repr([x.json for x in others]))
    r = send(env, aid, right, cid="code-once-user", ip="203.0.113.30")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verifytoken: the sign-in's own retry still -> 200", repr(r))
    r = send(env, aid, right, cid=None)
    t.check(is_409(env, r, "B2C_MSG_CORRELATION_MISSING", "correlation_missing"),
            "verifytoken: without correlation id -> 409 correlation_missing, as the wait",
            repr(r))
    said = "verifytoken refused: authy_id=%s without a valid correlationId (absent)" % aid
    t.check(env["responder"].refusals_warned("verifytoken: correlation_missing",
                                             "verifytoken refused: authy_id=") and
            len(env["responder"].log_lines_with(said)) == 1,
            "verifytoken: the refusal is logged once, as a warning, naming the account",
            repr(env["responder"].log_lines_with("verifytoken: correlation_missing")))
    again = [send(env, aid, right, cid=f"code-once-other-{i}") for i in range(MAX_ATTEMPTS)]
    t.check(all(is_409(env, x, "B2C_MSG_TOKEN_USED", "token_used") for x in again),
            "verifytoken: the same code again, other sign-ins -> 409 token_used",
            repr([x.json for x in again]))
    r = send(env, aid, right, cid="code-once-other")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_LIMITED", "token_limited"),
            "verifytoken: reused codes count against the attempt limit", repr(r))
    r = send(env, aid, right, cid="code-once-user")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_LIMITED", "token_limited"),
            "verifytoken: over the limit a retry is limited too", repr(r))
    t.check(len(p.verify_calls(env)) == n, "verifytoken: a reused code is not sent upstream",
            str(len(p.verify_calls(env)) - n))
    t.check(env["responder"].refusals_warned("verifytoken: token_used", "code reused authy_id=") and
            env["responder"].log_lines_with("code reused authy_id=" + aid),
            "verifytoken: a reused code is logged, one warning per refusal",
            repr(env["responder"].log_lines_with("token_used")))


def flow_code_replay_upstream(t, env):
    """Authy refuses a code it accepted before. A second responder (another
    instance behind the load balancer) has not seen the code: the API's
    refusal is all it has, and it cannot tell a replay from a wrong code."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0312")
    right = p.code(env, aid)
    r = send(env, aid, right, cid="replay-first")
    t.check(r.status == 200, "verifytoken: right code -> 200", repr(r))
    other = stack.Responder(env["work"], env["settings"], name="replay")
    try:
        n = len(p.verify_calls(env))
        r = send(env, aid, right, sock=other.sock, cid="replay-second")
        t.check(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong"),
                "verifytoken: a code used at another instance -> the API refuses it, 409",
                repr(r))
        t.check(len(p.verify_calls(env)) == n + 1,
                "verifytoken: the other instance asked the API", str(len(p.verify_calls(env)) - n))
    finally:
        other.stop()


def flow_code_grouped(t, env):
    """A code typed grouped as the app shows it ("123 4567", "123-456") is the
    code: one space or dash between two digits is dropped before the check.
    Two in a row are refused without asking the API."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0311")
    right = p.code(env, aid)
    n = len(p.verify_calls(env))
    r = send(env, aid, right[:3] + "  " + right[3:])
    t.check(is_409(env, r, "B2C_MSG_TOKEN_INVALID", "token_invalid"),
            "verifytoken: two spaces in a row -> 409 token_invalid", repr(r))
    r = send(env, aid, right[:3] + "-" + right[3:] + "-")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_INVALID", "token_invalid"),
            "verifytoken: a trailing dash -> 409 token_invalid", repr(r))
    t.check(len(p.verify_calls(env)) == n, "verifytoken: a badly grouped code is not sent upstream",
            str(len(p.verify_calls(env)) - n))
    r = send(env, aid, right[:3] + " " + right[3:])
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verifytoken: a code grouped with a space -> 200", repr(r))
    calls = p.verify_calls(env)[n:]
    t.check(len(calls) == 1 and p.sent_code(calls[0]) == right,
            "verifytoken: the grouped code goes upstream as its digits", repr(calls)[:300])
    r = send(env, aid, right[:3] + "-" + right[3:], cid="code-grouped-other")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_USED", "token_used"),
            "verifytoken: the same code grouped with a dash is the same code -> 409 token_used",
            repr(r))
    t.check(len(p.verify_calls(env)) == n + 1, "verifytoken: the used code is not sent upstream",
            str(len(p.verify_calls(env)) - n))
    # A shorter TOTP code is the longer one cut to its last digits: an API that
    # checks a code at the length it is given would take it, so it is used too.
    if len(right) > 6:
        r = send(env, aid, right[-6:], cid="code-grouped-short")
        t.check(is_409(env, r, "B2C_MSG_TOKEN_USED", "token_used"),
                "verifytoken: the used code's last 6 digits are the same code -> 409 token_used",
                repr(r))
        t.check(len(p.verify_calls(env)) == n + 1,
                "verifytoken: the used code's last 6 digits are not sent upstream",
                str(len(p.verify_calls(env)) - n))


def flow_code_forced(t, env):
    """Authy accepts any code for a user who has not registered the app yet,
    unless force=true is sent: a wrong code must still be refused."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0302", app=False)
    n = len(p.verify_calls(env))
    r = send(env, aid, other_code(p.code(env, aid)))
    t.check(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong"),
            "verifytoken: wrong code of a user without the app -> 409 (force sent)", repr(r))
    calls = p.verify_calls(env)[n:]
    t.check(len(calls) == 1 and calls[0]["params"].get("force") == "true",
            "verifytoken: the verification is forced", repr(calls)[:300])
    r = send(env, aid, p.code(env, aid))
    t.check(r.status == 200, "verifytoken: right code of a user without the app -> 200",
            repr(r))


def flow_code_limit(t, env):
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0303")
    wrong = other_code(p.code(env, aid))
    replies = [send(env, aid, wrong) for _ in range(MAX_ATTEMPTS)]
    t.check(all(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong") for r in replies),
            f"verifytoken: {MAX_ATTEMPTS} wrong codes -> 409 token_wrong each",
            repr([r.json for r in replies]))
    n = len(p.verify_calls(env))
    r = send(env, aid, wrong)
    t.check(is_409(env, r, "B2C_MSG_TOKEN_LIMITED", "token_limited"),
            "verifytoken: one more -> 409 token_limited", repr(r))
    r = send(env, aid, p.code(env, aid))
    t.check(is_409(env, r, "B2C_MSG_TOKEN_LIMITED", "token_limited"),
            "verifytoken: the limit holds for a right code too", repr(r))
    t.check(len(p.verify_calls(env)) == n, "verifytoken: over the limit nothing is sent upstream",
            str(len(p.verify_calls(env)) - n))
    other = p.user(t, env, "+1 415 555 0304")
    r = send(env, other, p.code(env, other))
    t.check(r.status == 200, "verifytoken: the limit is per authyId", repr(r))
    m = stack.fcgi(env["sock"], "GET", "/metrics", {}, b"", None).body.decode()
    t.check(re.search(r"^b2c_authy_code_limited_total [2-9]", m, re.M) is not None,
            "verifytoken: limited codes counted in b2c_authy_code_limited_total",
            "\n".join(x for x in m.splitlines() if "code_limited" in x))
    t.check(env["responder"].refusals_warned("verifytoken: token_limited", "code attempts limited authy_id=")
            and env["responder"].log_lines_with("code attempts limited authy_id=" + aid),
            "verifytoken: the limit is logged, one warning per refusal",
            repr(env["responder"].log_lines_with("token_limited")))


def flow_code_reset(t, env):
    """A right code clears the count: the next wrong codes start from zero."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0305")
    wrong = other_code(p.code(env, aid))
    for _ in range(MAX_ATTEMPTS - 1):
        send(env, aid, wrong)
    r = send(env, aid, p.code(env, aid))
    t.check(r.status == 200, "verifytoken: right code after wrong ones -> 200", repr(r))
    replies = [send(env, aid, wrong) for _ in range(MAX_ATTEMPTS)]
    t.check(all(is_409(env, x, "B2C_MSG_TOKEN_WRONG", "token_wrong") for x in replies),
            "verifytoken: a right code resets the count", repr([x.json for x in replies]))
    r = send(env, aid, wrong)
    t.check(is_409(env, r, "B2C_MSG_TOKEN_LIMITED", "token_limited"),
            "verifytoken: and the limit applies again", repr(r))


def flow_code_upstream_errors(t, env):
    """Authy's errors are the existing 409s, never an approval."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0306")
    match = "/protected/json/verify/" if env["provider"].name == "authy" else "/v2/"
    for mode, extra, msg in [("status", {"status": 503}, "B2C_MSG_UPSTREAM"),
                             ("garbage", {}, "B2C_MSG_UPSTREAM"),
                             ("ratelimit", {}, "B2C_MSG_RATE_LIMITED")]:
        env["mock"].fault(match=match, mode=mode, count=1, **extra)
        r = send(env, aid, p.code(env, aid))
        t.check(r.status == 409 and r.json.get("userMessage") == env["e2e"].MSG[msg],
                f"verifytoken: upstream {mode} -> 409", repr(r))
    env["mock"].clear_faults()
    r = send(env, aid, p.code(env, aid))
    t.check(r.status == 200, "verifytoken: a right code clears what the errors counted", repr(r))


def flow_code_debug_log(t, env):
    """At log_level = debug the upstream calls are logged: with the code masked."""
    p = codes(env)
    dbg = stack.Responder(env["work"], dict(env["settings"], log_level="debug"), name="codes")
    try:
        aid = p.user(t, env, "+1 415 555 0307")
        right = p.code(env, aid)
        ok = send(env, aid, right, sock=dbg.sock)
        bad = send(env, aid, other_code(right), sock=dbg.sock)
        t.check(ok.status == 200 and bad.status == 409, "verifytoken: debug responder answers",
                f"{ok!r} {bad!r}")
        text = dbg.log_text()
        t.check("level=debug" in text and "path=" in text, "verifytoken: upstream debug lines")
        t.check(right not in text and other_code(right) not in text,
                "verifytoken: no code in the debug log")
        calls = [ln for ln in text.splitlines() if "upstream method=" in ln]
        t.check(calls and not [ln for ln in calls if " rid=- " in ln],
                "verifytoken: the upstream debug lines carry the request's id", repr(calls)[:600])
    finally:
        dbg.stop()


def flow_verify_no_totp(t, env):
    """Verify: an entity with only a push factor has no codes."""
    aid = env["e2e"].new_user(t, env, "never", "+1 415 555 0308")
    r = send(env, aid, "7305194")
    t.check(is_409(env, r, "B2C_MSG_NO_TOTP_FACTOR", "no_totp_factor"),
            "verify: no TOTP factor -> 409 no_totp_factor", repr(r))
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0309")
    r = send(env, aid, "730519482")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong"),
            "verify: a code longer than a TOTP code -> 409 token_wrong", repr(r))
    right = p.code(env, aid)
    r = send(env, aid, right)
    last = (p.verify_calls(env) or [{}])[-1].get("params", {})
    t.check(r.status == 200 and last.get("AuthPayload") == right and
            last.get("FactorSid") == p.factors[aid],
            "verify: the code goes as AuthPayload of a challenge on the TOTP factor",
            f"{r!r} {sorted(last)}")


def flow_verify_totp_skew(t, env):
    """Verify: a TOTP factor's default Skew is one step, before and after the current
    one: the code of the step before and of the step after pass; one three steps ahead
    (two if a step ends meanwhile) does not."""
    p = codes(env)
    aid = p.user(t, env, "+1 415 555 0311")

    def step_code(n):
        path = f"/_mock/verify/factors/{p.factors[aid]}/code?step={n}"
        return env["mock"].call("GET", path)["code"]
    r = send(env, aid, step_code(-1), cid="skew-before")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verify: the code of the step before -> 200", repr(r))
    r = send(env, aid, step_code(1), cid="skew-after")
    t.check(r.status == 200 and r.json == {"authyApproved": True},
            "verify: the code of the step after -> 200", repr(r))
    r = send(env, aid, step_code(3), cid="skew-far")
    t.check(is_409(env, r, "B2C_MSG_TOKEN_WRONG", "token_wrong"),
            "verify: the code of three steps ahead -> 409 token_wrong", repr(r))


def flows(backend):
    common = [flow_code_right_wrong, flow_code_once, flow_code_grouped, flow_code_limit,
              flow_code_reset, flow_code_upstream_errors, flow_code_debug_log]
    if backend.name == "verify":
        return common + [flow_verify_no_totp, flow_verify_totp_skew]
    return [flow_code_forced, flow_code_replay_upstream] + common
