"""provider.py - what the end-to-end flows need to know of the push backend
the responder is configured for, chosen by the environment variable PROVIDER
(authy, the default, or verify): responder settings, mock options, the user's
enrolment in the app, the mock's control calls, the upstream paths faults are
injected on, the secrets the logs must never hold, and the provider's own
callback (OneTouch) or webhook (Verify) flow and extra flows.
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.error

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "mock"))
import mock_verify  # noqa: E402
import stack  # noqa: E402

SERVICE_SID = "VA" + "4f1e0c2b9a8d7e6f" * 2
ACCOUNT_SID = "AC" + "0a1b2c3d4e5f6a7b" * 2
AUTH_TOKEN = "e2e-auth-token-0123456789abcdef"
IDENTITY_SECRET = "e2e-identity-secret-0123456789"


class Authy:
    name = "authy"
    register_path = "/protected/json/users/new"
    rate_limit_code = "error_code=60003"  # how the responder logs the API's 429
    # Magic e-mails of the Authy mock and the message each register gets.
    register_magic = [("fail60027@example.com", "B2C_MSG_USER_REJECTED"),
                      ("fail503@example.com", "B2C_MSG_UPSTREAM"),
                      ("failgarbage@example.com", "B2C_MSG_UPSTREAM")]

    def mock_extra(self, callback_url):
        return ["--callback-url", callback_url]

    def settings(self, mock_url):
        return {"authy_api_key": stack.API_KEY, "authy_api_url": mock_url}

    def secrets(self):
        return [stack.API_KEY]

    def enrol(self, env, authy_id, prefix):
        """Authy's app enrols through the phone number: nothing to do."""

    def approvals(self, mock, authy_id):
        return mock.approvals(authy_id)

    def resolve(self, mock, uuid, action):
        return mock.call("POST", f"/_mock/approval_requests/{uuid}/{action}")

    def poll_path(self, authy_id):
        return "/onetouch/json/approval_requests/"

    def create_path(self, authy_id):
        return f"/onetouch/json/users/{authy_id}/approval_requests"

    def extra_flows(self):
        return []


class Verify:
    name = "verify"
    register_path = f"/v2/Services/{SERVICE_SID}/Entities"
    rate_limit_code = "code=20429"
    # Entities carry no e-mail: register refusals come from faults instead.
    register_magic = []

    def mock_extra(self, callback_url):
        return ["--callback-url", callback_url, "--verify-service-sid", SERVICE_SID,
                "--twilio-account-sid", ACCOUNT_SID, "--twilio-auth-token", AUTH_TOKEN]

    def settings(self, mock_url):
        return {"provider": "verify", "verify_api_url": mock_url,
                "verify_service_sid": SERVICE_SID, "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN, "verify_identity_secret": IDENTITY_SECRET}

    def secrets(self):
        return [AUTH_TOKEN, IDENTITY_SECRET]

    def enrol(self, env, authy_id, prefix, status="verified"):
        """What the Verify Push SDK does in the customer's app: a push factor,
        named so that the mock's challenges behave as prefix says."""
        return env["mock"].call("POST", f"/_mock/verify/entities/{authy_id}/factors",
                                {"friendly_name": prefix, "status": status})

    def approvals(self, mock, authy_id):
        return mock.call("GET", f"/_mock/verify/challenges?identity={authy_id}")

    def resolve(self, mock, uuid, action):
        return mock.call("POST", f"/_mock/verify/challenges/{uuid}/{action}")

    def poll_path(self, authy_id):
        return f"{self.register_path}/{authy_id}/Challenges/"

    def create_path(self, authy_id):
        return f"{self.register_path}/{authy_id}/Challenges"

    def extra_flows(self):
        return [flow_verify_identity, flow_verify_factor, flow_verify_factor_gone,
                flow_verify_many_factors,
                flow_verify_refusals, flow_verify_check_config]


def current():
    name = os.environ.get("PROVIDER", "authy")
    if name not in ("authy", "verify"):
        raise ValueError(f"PROVIDER={name!r}: expected authy or verify")
    return Verify() if name == "verify" else Authy()


# ---- Verify flows (env["e2e"] is the e2e module, for its helpers) ----

def account_identity(object_id):
    """The identity of a B2C account: of its objectId, after a prefix no name can have."""
    return identity("\x1fobjectid:" + object_id.lower())


def identity(name):
    """The identity the responder must derive, computed here independently."""
    low = "".join(c.lower() if "A" <= c <= "Z" else c for c in name)
    mac = hmac.new(IDENTITY_SECRET.encode(), low.encode(), hashlib.sha256).digest()
    return "%020d" % int.from_bytes(mac[:8], "big")


def flow_verify_identity(t, env):
    """Register returns the keyed hash of the sign-in name; Twilio never sees it."""
    e2e = env["e2e"]
    r = e2e.register(env, "Verify.Person@Example.com", "+1 415 555 0190", sign_in="Verify.Person")
    t.check(r.status == 200 and r.json == {"authyId": identity("verify.person")},
            "verify: authyId is the HMAC identity of the sign-in name", repr(r))
    again = e2e.register(env, "other@example.com", "+1 415 555 0191", sign_in="VERIFY.PERSON")
    t.check(again.json == r.json, "verify: the sign-in name's case does not matter", repr(again))
    only = e2e.register(env, "Only.Email@Example.com", "+1 415 555 0192")
    t.check(only.json == {"authyId": identity("only.email@example.com")},
            "verify: without a sign-in name the email is hashed", repr(only))
    local_oid = "7d1c1f4e-0b1a-4c55-9f7e-2f4d8c6a9b01"
    social_oid = "c3a9e2d0-5f61-4b8e-8d2a-6e1f0b7c4d22"
    local = e2e.register(env, "", "+1 415 555 0194", sign_in="shared@example.com",
                         object_id=local_oid)
    t.check(local.status == 200 and local.json == {"authyId": account_identity(local_oid)},
            "verify: with objectId, authyId is the HMAC identity of the account", repr(local))
    social = e2e.register(env, "Shared@Example.com", "+1 415 555 0195", object_id=social_oid)
    t.check(social.status == 200 and social.json != local.json and
            social.json == {"authyId": account_identity(social_oid)},
            "verify: another account sending the same name gets an Entity of its own",
            f"{local!r} {social!r}")
    t.check(local.json != {"authyId": identity("shared@example.com")},
            "verify: the account's identity is not the name's", repr(local))
    upper = e2e.register(env, "", "+1 415 555 0196", sign_in="shared@example.com",
                         object_id=local_oid.upper())
    t.check(upper.json == local.json, "verify: the objectId's case does not matter", repr(upper))
    nophone = e2e.register(env, "", None, sign_in="shared@example.com", object_id=local_oid)
    t.check(nophone.status == 200 and nophone.json == local.json,
            "verify: register without phoneNumber -> 200, the account's identity", repr(nophone))
    t.check(re.search(r"registered authy_id=%s correlation_id=\S+ phone=- " %
                      local.json.get("authyId"), env["responder"].log_text()) is not None,
            "verify: a register without phone is logged with phone=-")
    badphone = e2e.register(env, "", "+1 415 555", object_id=local_oid)
    t.check(badphone.status == 409 and badphone.json.get("code") == "phone_invalid",
            "verify: a phoneNumber that is sent is still validated", repr(badphone))
    alone = e2e.register(env, "", "+1 415 555 0198", object_id=social_oid)
    t.check(alone.status == 200 and alone.json == {"authyId": account_identity(social_oid)},
            "verify: an account without email or sign-in name registers by its objectId",
            repr(alone))
    bad = e2e.register(env, "", "+1 415 555 0197", sign_in="shared@example.com",
                       object_id="not-a-guid")
    t.check(bad.status == 400, "verify: an objectId that is no GUID -> 400", repr(bad))
    reqs = [x for x in env["mock"].requests() if x["path"] == Verify.register_path]
    text = json.dumps(reqs).lower()
    t.check(len(reqs) >= 3 and "example.com" not in text and "verify.person" not in text and
            "4155550190" not in text, "verify: register sends no name, email or phone",
            text[:300])
    t.check(all(x.get("api_key_ok") for x in env["mock"].requests()
                if x["path"].startswith("/v2/")), "verify: every call authenticated")


def flow_verify_factor(t, env):
    """No verified push factor: 200 factorStatus none (the policy shows the set-up
    page), no challenge; once the app verifies the factor, the push is approved."""
    e2e = env["e2e"]
    r = e2e.register(env, "nofactor@example.com", "+1 415 555 0193", sign_in="no-factor-user")
    aid = r.json["authyId"]
    w = e2e.wait(env, aid, sign_in="no-factor-user")
    t.check(w.status == 200 and w.json == {"factorStatus": "none"},
            "verify: no factor -> 200 factorStatus none", repr(w))
    f = env["provider"].enrol(env, aid, "autoapprove200", status="unverified")
    w = e2e.wait(env, aid, sign_in="no-factor-user")
    t.check(w.status == 200 and w.json == {"factorStatus": "none"},
            "verify: unverified factor -> 200 factorStatus none", repr(w))
    t.check(not env["provider"].approvals(env["mock"], aid), "verify: no challenge without a factor")
    env["mock"].call("POST", f"/_mock/verify/factors/{f['sid']}/verify")
    w = e2e.wait(env, aid, sign_in="no-factor-user")
    t.check(w.status == 200 and w.json == {"authyApproved": True},
            "verify: verified factor -> 200 authyApproved", repr(w))
    ch = env["provider"].approvals(env["mock"], aid)
    t.check(len(ch) == 1 and ch[0]["factor_sid"] == f["sid"] and
            ch[0]["hidden_details"].get("request_id"),
            "verify: one challenge on that factor, request id hidden", repr(ch)[:300])
    w = e2e.wait(env, "1234567", sign_in="authy-era-user")
    t.check(w.status == 409 and w.json.get("userMessage") == e2e.MSG["B2C_MSG_USER_NOT_FOUND"],
            "verify: an Authy-era authyId -> contact support", repr(w))
    w = e2e.wait(env, identity("never-registered"), sign_in="never-registered")
    t.check(w.status == 409 and w.json.get("userMessage") == e2e.MSG["B2C_MSG_USER_NOT_FOUND"],
            "verify: unknown entity -> contact support", repr(w))


def flow_verify_factor_gone(t, env):
    """A poll that finds the challenge's factor no longer verified (403 / 60318)
    ends the wait at once with factorStatus none; after the set-up page the next
    wait sends a new challenge to the factor set up again, not to the old one."""
    e2e = env["e2e"]
    m = env["mock"]
    r = e2e.register(env, "gone@example.com", "+1 415 555 0197", sign_in="factor-gone")
    aid = r.json["authyId"]
    env["provider"].enrol(env, aid, "never")
    p = e2e.wait_start(env, aid, sign_in="factor-gone")
    time.sleep(0.5)
    old = env["provider"].approvals(m, aid)
    m.fault(match=f"{Verify.register_path}/{aid}/Challenges/", mode="status", status=403,
            error_code="60318", count=-1)
    w = stack.fcgi_finish(p)
    m.clear_faults()
    t.check(w.status == 200 and w.json == {"factorStatus": "none"} and
            w.elapsed < e2e.BUDGET_MS / 1000 - 1,
            "verify: 60318 on a poll -> 200 factorStatus none at once", f"{w!r} {w.elapsed:.2f}s")
    f = env["provider"].enrol(env, aid, "autoapprove200")
    w = e2e.wait(env, aid, sign_in="factor-gone")
    ch = env["provider"].approvals(m, aid)
    t.check(w.status == 200 and w.json == {"authyApproved": True},
            "verify: after the set-up page the new factor approves", repr(w))
    t.check(len(old) == 1 and len(ch) == 2 and ch[-1]["factor_sid"] == f["sid"],
            "verify: the next wait sends a new challenge to the new factor", repr(ch)[:300])


def flow_verify_many_factors(t, env):
    """Every factor Twilio lets one user have (100 TOTP factors, then a push
    factor): the push factor is found beyond the API's default page of 50."""
    e2e = env["e2e"]
    r = e2e.register(env, "many-factors@example.com", "+1 415 555 0196", sign_in="many-factors")
    aid = r.json["authyId"]
    for i in range(100):
        env["mock"].call("POST", f"/_mock/verify/entities/{aid}/factors",
                         {"friendly_name": f"old phone {i}", "status": "unverified",
                          "factor_type": "totp"})
    try:
        over = env["mock"].call("POST", f"/_mock/verify/entities/{aid}/factors",
                                {"friendly_name": "one more", "factor_type": "totp"})
    except urllib.error.HTTPError as e:
        over = json.loads(e.read() or b"null")
    t.check(isinstance(over, dict) and over.get("code") == 60315,
            "verify: the mock refuses a 101st TOTP factor as Twilio does (60315)", repr(over))
    env["provider"].enrol(env, aid, "autoapprove200")
    w = e2e.wait(env, aid, sign_in="many-factors")
    t.check(w.status == 200 and w.json == {"authyApproved": True},
            "verify: a push factor after 100 others is found and approves", repr(w))


def flow_verify_refusals(t, env):
    """Twilio's error answers on register, as the mock injects them."""
    e2e = env["e2e"]
    m = env["mock"]
    for status, msg, what in [(401, "B2C_MSG_UPSTREAM", "401 credentials refused"),
                              (400, "B2C_MSG_UPSTREAM", "400 invalid parameter"),
                              (404, "B2C_MSG_UPSTREAM", "404 unknown service")]:
        m.fault(match=env["provider"].register_path, mode="status", status=status, count=1)
        r = e2e.register(env, "refused@example.com", "+1 415 555 0194")
        t.check(r.status == 409 and r.json.get("userMessage") == e2e.MSG[msg],
                f"verify: {what} on register -> 409", repr(r))
    m.clear_faults()
    text = env["responder"].log_text()
    t.check("verify entities: upstream_auth http=401" in text,
            "verify: refused credentials are logged with the cause")


def send_webhook(sock, cb, signature=None, body=None, content_type=None, query=""):
    params = {"HTTP_X_TWILIO_SIGNATURE": signature or cb["headers"]["X-Twilio-Signature"],
              "HTTP_HOST": "b2c.example.com"}
    if query:
        params["QUERY_STRING"] = query
    return stack.fcgi(sock, "POST", "/api/authy/callback" + ("?" + query if query else ""),
                      params, body if body is not None else cb["body"],
                      content_type or cb.get("content_type"))


def flow_webhook(t, env):
    """A verified Verify webhook wakes the waiter long before the next poll."""
    e2e = env["e2e"]
    url = e2e.CALLBACK_URL
    slow = stack.Responder(env["work"], dict(env["settings"], poll_interval_ms=3500,
                                             callback_url=url), name="webhook")
    try:
        r = stack.fcgi(slow.sock, "POST", e2e.REGISTER, stack.cert_params(env["certs"], "client"),
                       json.dumps({"email": "never+wh@example.com", "signInName": "wh-user",
                                   "phoneNumber": "+1 720 555 0142"}))
        aid = r.json["authyId"]
        env["provider"].enrol(env, aid, "never")
        p = e2e.wait_start(env, aid, sign_in="wh-user", sock=slow.sock)
        time.sleep(0.5)
        sid = env["provider"].approvals(env["mock"], aid)[0]["uuid"]
        env["provider"].resolve(env["mock"], sid, "approve")
        cbs = [c for c in env["mock"].callbacks() if sid in c["body"]]
        t.check(len(cbs) == 1 and "type=challenge.approved" in cbs[0]["body"],
                "verify: mock signed one challenge.approved webhook", repr(cbs)[:200])
        cb = cbs[0]
        sig = cb["headers"]["X-Twilio-Signature"]
        bad = send_webhook(slow.sock, cb, signature=("A" if sig[0] != "A" else "B") + sig[1:])
        t.check(bad.status == 401 and e2e.b2c_shaped(bad), "verify: badly signed webhook -> 401",
                repr(bad))
        tampered = send_webhook(slow.sock, cb, body=cb["body"].replace("approved", "denied"))
        t.check(tampered.status == 401, "verify: tampered webhook -> 401", repr(tampered))
        other = send_webhook(slow.sock, cb, query="x=1")
        t.check(other.status == 401, "verify: webhook for another URL -> 401", repr(other))
        unsigned = stack.fcgi(slow.sock, "POST", "/api/authy/callback",
                              {"HTTP_HOST": "b2c.example.com"}, cb["body"],
                              cb["content_type"])
        t.check(unsigned.status == 401, "verify: unsigned webhook -> 401", repr(unsigned))
        ok = send_webhook(slow.sock, cb)
        t.check(ok.status == 200, "verify: signed webhook accepted", repr(ok))
        r = stack.fcgi_finish(p)
        t.check(r.status == 200 and r.elapsed < 1.5,
                "verify: webhook wakes the waiter before the first poll", f"{r!r} {r.elapsed:.2f}s")
        again = send_webhook(slow.sock, cb)
        t.check(again.status == 401, "verify: replayed webhook -> 401", repr(again))
        factor = [c for c in env["mock"].callbacks() if "type=factor.verified" in c["body"] and
                  aid in c["body"]]
        fv = send_webhook(slow.sock, factor[0]) if factor else None
        t.check(fv is not None and fv.status == 200, "verify: factor.verified webhook -> 200",
                repr(fv))
        created = [c for c in env["mock"].callbacks() if "type=factor.created" in c["body"] and
                   aid in c["body"]]
        fc = send_webhook(slow.sock, created[0]) if created else None
        t.check(fc is not None and fc.status == 200, "verify: factor.created webhook -> 200",
                repr(fc))
        flow_webhook_json(t, slow, aid, sid)
        text = slow.log_text()
        t.check("webhook signature does not match" in text and "webhook replayed" in text,
                "verify: refused webhooks are logged")
        t.check(AUTH_TOKEN not in text, "verify: auth token never logged")
    finally:
        slow.stop()


def flow_webhook_json(t, responder, aid, sid):
    """A JSON body is signed through bodySHA256 in the URL; signed here in Python."""
    body = json.dumps({"type": "challenge.denied", "entity_identity": aid,
                       "challenge_sid": "YC" + "0" * 32})
    digest = hashlib.sha256(body.encode()).hexdigest()
    url = "https://b2c.example.com/api/authy/callback?bodySHA256=" + digest
    sig = mock_verify.webhook_signature(AUTH_TOKEN, url, {})
    cb = {"headers": {"X-Twilio-Signature": sig}, "body": body,
          "content_type": "application/json"}
    ok = send_webhook(responder.sock, cb, query="bodySHA256=" + digest)
    t.check(ok.status == 200, "verify: JSON webhook with bodySHA256 -> 200 (no waiter here)",
            repr(ok))
    cb["body"] = body.replace("denied", "approved")
    bad = send_webhook(responder.sock, cb, query="bodySHA256=" + digest)
    t.check(bad.status == 401, "verify: JSON body not matching bodySHA256 -> 401", repr(bad))


def flow_verify_check_config(t, env):
    """--check-config with provider = verify: secrets masked, missing settings refused."""
    def check(settings):
        conf = stack.write_conf(env["work"], "check-verify.conf", settings)
        return subprocess.run([stack.BIN, "-c", conf, "--check-config"], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"}, timeout=30)

    r = check(env["settings"])
    out = r.stdout + r.stderr
    t.check(r.returncode == 0 and "provider = verify" in out and
            "twilio_auth_token = ********" in out and "verify_identity_secret = ********" in out,
            "verify: --check-config accepts and masks", out[-300:])
    t.check(AUTH_TOKEN not in out and IDENTITY_SECRET not in out,
            "verify: --check-config shows no secret")
    for drop in ("verify_service_sid", "verify_identity_secret", "twilio_auth_token"):
        r = check({k: v for k, v in env["settings"].items() if k != drop})
        t.check(r.returncode == 2 and f"{drop}: required" in r.stderr,
                f"verify: without {drop} -> exit 2", r.stderr[-200:])
    r = check(dict(env["settings"], approval_ttl_s=7200))
    t.check(r.returncode == 2 and "approval_ttl_s" in r.stderr, "verify: TTL over 3600 -> exit 2",
            r.stderr[-200:])
