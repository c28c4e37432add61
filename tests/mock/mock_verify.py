"""mock_verify.py - the Twilio Verify v2 Push part of the mock API: Entities,
Factors and Challenges under /v2/Services/{ServiceSid}, HTTP Basic auth with
the Account SID and Auth Token or an API key and secret, Twilio-shaped error
bodies, signed Verify webhooks, and a /_mock/verify control API. Python 3
standard library only; mock_authy.py routes /v2/ and /_mock/verify/ here.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import threading
import time
import uuid as uuidlib
from datetime import datetime, timezone
from urllib.parse import quote_plus

DEFAULT_SERVICE_SID = "VA" + "0123456789abcdef" * 2
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "test-auth-token"
MESSAGE_MAX = 256
LABEL_MAX = 36
VALUE_MAX = 128
FIELDS_MAX = 20
HIDDEN_MAX = 1024
PAGE_SIZE_MAX = 1000  # list pages: PageSize 1..1000, default 50
FACTORS_MAX = {"push": 20, "totp": 100}  # per entity and type, else 400 / 60315
DEFAULT_TTL_S = 300
TOTP_DIGITS = 6  # Verify TOTP factors' default CodeLength
TOTP_STEP_S = 30  # and TimeStep
TOTP_SKEW = 1  # and Skew: steps accepted before and after the current one
TOTP_STEP_CTL_MAX = 3  # GET .../code?step=N tells codes of steps -3..3
AUTH_PAYLOAD_MIN, AUTH_PAYLOAD_MAX = 3, 8  # a TOTP AuthPayload's length
MAX_TTL_S = 3600
E_INVALID_REQUEST = 60306  # 400: a bad Identity, AuthPayload, list or Challenge parameter
IDENTITY_RE = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
SID_RE = r"[0-9a-fA-F]{32}"
BEHAVIOUR_RE = re.compile(r"^(autoapprove|autodeny|autoexpire|slowapprove)(\d*)", re.I)
BEHAVIOURS = {
    "autoapprove": ("approved", 1000),
    "autodeny": ("denied", 1000),
    "autoexpire": ("expired", 1000),
    "slowapprove": ("approved", 8000),
}


def new_sid(prefix):
    return prefix + uuidlib.uuid4().hex


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    """Epoch seconds of an ISO 8601 date-time with a zone, or None."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return None if dt.tzinfo is None else dt.timestamp()


def twilio_error(status, code, message):
    """Twilio's error body."""
    return {"code": code, "message": message,
            "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status}


def webhook_signature(auth_token, url, params):
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each parameter's
    name and value concatenated, ordered by name)), as Twilio documents it."""
    data = url + "".join(k + v for k, v in sorted(params.items()))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def page_token(items, page, size):
    """The PageToken of a list page after the first: it names the last item
    before it (None for the first page or one past the end)."""
    if page <= 0 or not 0 < page * size <= len(items):
        return None
    return "PA" + items[page * size - 1]["sid"]


def behaviour(friendly_name):
    m = BEHAVIOUR_RE.match(friendly_name or "")
    if m is None:
        return None
    status, delay = BEHAVIOURS[m.group(1).lower()]
    if m.group(2):
        delay = int(m.group(2)[:9])
    return (status, delay)


def totp(secret, offset=0):
    """RFC 6238 TOTP (HMAC-SHA1) of a factor's secret for the current step plus offset."""
    counter = int(time.time() // TOTP_STEP_S) + offset
    mac = hmac.new(secret, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    value = int.from_bytes(mac[o:o + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** TOTP_DIGITS).zfill(TOTP_DIGITS)


class Challenge:
    def __init__(self, entity, factor, message, fields, hidden, expires):
        self.sid = new_sid("YC")
        self.entity = entity
        self.factor = factor
        self.message = message
        self.fields = fields
        self.hidden = hidden
        self.created = time.time()
        self.updated = self.created
        self.responded = None
        self.expires = expires
        self.status = "pending"
        self.reason = "none"
        self.resolve_to, self.resolve_at = None, None
        b = behaviour(factor["friendly_name"])
        if b is not None:
            self.resolve_to = b[0]
            self.resolve_at = time.monotonic() + b[1] / 1000.0

    def to_json(self, service_sid, account_sid):
        url = "https://verify.twilio.com/v2/Services/%s/Entities/%s/Challenges/%s" % (
            service_sid, self.entity["identity"], self.sid)
        return {
            "sid": self.sid, "account_sid": account_sid, "service_sid": service_sid,
            "entity_sid": self.entity["sid"], "identity": self.entity["identity"],
            "factor_sid": self.factor["sid"], "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "date_responded": iso(self.responded) if self.responded else None,
            "expiration_date": iso(self.expires), "status": self.status,
            "responded_reason": self.reason,
            "details": {"message": self.message, "date": iso(self.created),
                        "fields": [dict(f) for f in self.fields]},
            "hidden_details": dict(self.hidden) if self.hidden else None,
            "metadata": None, "factor_type": self.factor["factor_type"],
            "url": url, "links": {"notifications": url + "/Notifications"},
        }

    def to_control_json(self):
        """The shape of the Authy mock's control listing, for shared tests."""
        return {
            "uuid": self.sid, "status": self.status, "identity": self.entity["identity"],
            "factor_sid": self.factor["sid"], "message": self.message,
            "details": {f["label"]: f["value"] for f in self.fields},
            "fields": [dict(f) for f in self.fields],
            "hidden_details": dict(self.hidden or {}),
            "seconds_to_expire": int(math.ceil(self.expires - self.created)),
            "expiration_date": iso(self.expires),
        }


class VerifyMock:
    """State and routes of the Verify part. Every access holds self.lock;
    webhooks are built and sent after it is released."""

    def __init__(self, reply, log, hook, service_sid=DEFAULT_SERVICE_SID,
                 account_sid=DEFAULT_ACCOUNT_SID, auth_token=DEFAULT_AUTH_TOKEN,
                 api_key=None, api_secret=None):
        self.Reply = reply
        self.log = log
        self.hook = hook
        self.service_sid = service_sid
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_key = api_key
        self.api_secret = api_secret
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.entities = {}
            self.factors = {}
            self.challenges = {}

    # ---- authentication ----
    def auth_ok(self, header):
        """HTTP Basic with the account SID + auth token or API key + secret."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        pairs = [(self.account_sid, self.auth_token)]
        if self.api_key and self.api_secret:
            pairs.append((self.api_key, self.api_secret))
        return any(hmac.compare_digest(user.encode(), u.encode()) and
                   hmac.compare_digest(password.encode(), p.encode()) for u, p in pairs)

    def error(self, status, code, message):
        return self.Reply(status, twilio_error(status, code, message))

    def invalid(self, what):
        """A malformed parameter of an Entity, Factor or Challenge call: 400 / 60306,
        the error Verify documents for these resources (60200 is its SMS side's)."""
        return self.error(400, E_INVALID_REQUEST, "Invalid Request: " + what)

    # ---- API ----
    def route(self, method, path, pairs, auth_ok):
        """One API call; pairs are the decoded form/query parameters in order."""
        if not auth_ok:
            return self.error(401, 20003, "Authenticate")
        m = re.fullmatch(r"/v2/Services/([^/]+)/Entities(?:/([^/]+)(?:/(Factors|Challenges)"
                         r"(?:/([^/]+))?)?)?", path)
        if m is None:
            return self.error(404, 20404, "The requested resource %s was not found" % path)
        service, identity, sub, sid = m.groups()
        if service != self.service_sid:
            return self.error(404, 20404, "The requested resource %s was not found" % path)
        handler = {
            ("POST", None, None): lambda: self.entity_create(pairs),
            ("GET", "e", None): lambda: self.entity_fetch(identity),
            ("GET", "e", "Factors"): lambda: self.factor_list(identity, pairs),
            ("POST", "e", "Challenges"): lambda: self.challenge_create(identity, pairs),
            ("GET", "e", "Challenges/s"): lambda: self.challenge_fetch(identity, sid),
        }.get((method, "e" if identity else None,
               (sub + ("/s" if sid else "")) if sub else None))
        if handler is None:
            return self.error(405, 20004, "Method not allowed")
        return handler()

    def entity_json(self, e):
        url = "https://verify.twilio.com/v2/Services/%s/Entities/%s" % (
            self.service_sid, e["identity"])
        return {"sid": e["sid"], "identity": e["identity"], "account_sid": self.account_sid,
                "service_sid": self.service_sid, "date_created": iso(e["created"]),
                "date_updated": iso(e["created"]),
                "url": url, "links": {"factors": url + "/Factors",
                                      "challenges": url + "/Challenges"}}

    def entity_create(self, pairs):
        params = dict(pairs)
        identity = params.get("Identity", "")
        if not (8 <= len(identity) <= 64 and IDENTITY_RE.match(identity)):
            return self.invalid("Identity")
        with self.lock:
            if identity in self.entities:
                return self.error(409, 60301, "Entity already exists")
            e = self._entity(identity)
            body = self.entity_json(e)
        return self.Reply(201, body)

    def _entity(self, identity):
        e = {"sid": new_sid("YE"), "identity": identity, "created": time.time()}
        self.entities[identity] = e
        return e

    def entity_fetch(self, identity):
        with self.lock:
            e = self.entities.get(identity)
            body = self.entity_json(e) if e else None
        if body is None:
            return self.error(404, 20404, "The requested resource was not found")
        return self.Reply(200, body)

    def factor_json(self, f):
        return {"sid": f["sid"], "account_sid": self.account_sid,
                "service_sid": self.service_sid, "entity_sid": f["entity_sid"],
                "identity": f["identity"], "date_created": iso(f["created"]),
                "date_updated": iso(f["created"]), "friendly_name": f["friendly_name"],
                "status": f["status"], "factor_type": f["factor_type"],
                "config": self.factor_config(f["factor_type"]),
                "metadata": None,
                "url": "https://verify.twilio.com/v2/Services/%s/Entities/%s/Factors/%s" % (
                    self.service_sid, f["identity"], f["sid"])}

    @staticmethod
    def factor_config(ftype):
        """A factor's config as the API shows it for its type: the app's SDK and
        push binding, or the TOTP parameters (the defaults the mock uses)."""
        if ftype == "totp":
            return {"alg": "sha1", "code_length": TOTP_DIGITS, "skew": TOTP_SKEW,
                    "time_step": TOTP_STEP_S}
        return {"sdk_version": "mock", "app_id": "com.example.mock",
                "notification_platform": "fcm", "notification_token": "mock"}

    def factor_list(self, identity, pairs):
        """One page of the entity's factors, oldest first: PageSize (1..1000, default
        50). A later page is reached only through the URLs a page hands out (Page
        with its PageToken); any other Page or PageToken is 400 / 60306."""
        q = dict(pairs)
        try:
            size, page = int(q.get("PageSize", 50)), int(q.get("Page", 0))
        except ValueError:
            size, page = 0, 0
        if not 1 <= size <= PAGE_SIZE_MAX or page < 0:
            return self.invalid("PageSize or Page")
        with self.lock:
            if identity not in self.entities:
                return self.error(404, 20404, "The requested resource was not found")
            mine = sorted((f for f in self.factors.values() if f["identity"] == identity),
                          key=lambda f: f["created"])
            factors = [self.factor_json(f) for f in mine[page * size:(page + 1) * size]]
        if (page > 0 or "PageToken" in q) and q.get("PageToken") != page_token(mine, page, size):
            return self.invalid("PageToken")
        url = "https://verify.twilio.com/v2/Services/%s/Entities/%s/Factors" % (
            self.service_sid, identity)

        def at(n):
            token = page_token(mine, n, size)
            return "%s?PageSize=%d&Page=%d%s" % (url, size, n,
                                                 "&PageToken=" + token if token else "")
        more = len(mine) > (page + 1) * size
        meta = {"page": page, "page_size": size, "first_page_url": at(0),
                "previous_page_url": at(page - 1) if page > 0 else None, "url": at(page),
                "next_page_url": at(page + 1) if more else None, "key": "factors"}
        return self.Reply(200, {"factors": factors, "meta": meta})

    def parse_fields(self, values):
        """Details.Fields: each value one JSON object {label, value}, or an error text."""
        fields = []
        if len(values) > FIELDS_MAX:
            return None, "Details.Fields: at most %d" % FIELDS_MAX
        for v in values:
            try:
                f = json.loads(v)
            except ValueError:
                return None, "Details.Fields: not JSON"
            if (not isinstance(f, dict) or set(f) != {"label", "value"} or
                    not all(isinstance(x, str) and x for x in f.values())):
                return None, "Details.Fields: expected {label, value}"
            if len(f["label"]) > LABEL_MAX or len(f["value"]) > VALUE_MAX:
                return None, "Details.Fields: label or value too long"
            fields.append({"label": f["label"], "value": f["value"]})
        return fields, None

    def parse_hidden(self, text):
        if text is None:
            return {}, None
        if len(text) > HIDDEN_MAX:
            return None, "HiddenDetails: too long"
        try:
            h = json.loads(text)
        except ValueError:
            return None, "HiddenDetails: not JSON"
        if not isinstance(h, dict) or not all(isinstance(v, str) for v in h.values()):
            return None, "HiddenDetails: expected an object of strings"
        return h, None

    def challenge_create(self, identity, pairs):
        params = dict(pairs)
        with self.lock:
            f = self.factors.get(params.get("FactorSid", ""))
            totp_factor = f is not None and f["factor_type"] == "totp"
        if totp_factor:
            return self.totp_challenge(identity, params)
        message = params.get("Details.Message", "")
        if not message or len(message) > MESSAGE_MAX:
            return self.invalid("Details.Message")
        fields, bad = self.parse_fields([v for k, v in pairs if k == "Details.Fields"])
        hidden, bad2 = self.parse_hidden(params.get("HiddenDetails"))
        if bad or bad2:
            return self.invalid(bad or bad2)
        now = time.time()
        expires = now + DEFAULT_TTL_S
        if "ExpirationDate" in params:
            expires = parse_iso(params["ExpirationDate"])
            if expires is None or expires <= now or expires > now + MAX_TTL_S + 5:
                return self.invalid("ExpirationDate")
        with self.lock:
            e = self.entities.get(identity)
            f = self.factors.get(params.get("FactorSid", ""))
            if e is None or f is None or f["identity"] != identity:
                return self.error(404, 20404, "The requested resource was not found")
            if f["status"] != "verified":
                return self.error(403, 60318, "Factor is unverified")
            c = Challenge(e, f, message, fields, hidden, expires)
            self.challenges[c.sid] = c
            body = c.to_json(self.service_sid, self.account_sid)
        self.log("verify challenge %s created for %s" % (c.sid, identity))
        return self.Reply(201, body)

    def totp_challenge(self, identity, params):
        """A Challenge on a TOTP factor: AuthPayload (the code) is checked at
        creation against the current step and TOTP_SKEW steps before and after
        it (the factor's default Skew); the challenge is approved when it
        matches, else it stays pending."""
        code = params.get("AuthPayload", "")
        if not AUTH_PAYLOAD_MIN <= len(code) <= AUTH_PAYLOAD_MAX:
            return self.invalid("AuthPayload")
        with self.lock:
            e = self.entities.get(identity)
            f = self.factors.get(params.get("FactorSid", ""))
            if e is None or f is None or f["identity"] != identity:
                return self.error(404, 20404, "The requested resource was not found")
            if f["status"] != "verified":
                return self.error(403, 60318, "Factor is unverified")
            c = Challenge(e, f, "", [], {}, time.time() + DEFAULT_TTL_S)
            c.resolve_to, c.resolve_at = None, None  # a code decides, not the device name
            if any(hmac.compare_digest(code.encode(), totp(f["secret"], off).encode())
                   for off in range(-TOTP_SKEW, TOTP_SKEW + 1)):
                c.status = "approved"
                c.responded = c.created
            self.challenges[c.sid] = c
            body = c.to_json(self.service_sid, self.account_sid)
        self.log("verify totp challenge %s for %s: %s" % (c.sid, identity, c.status))
        return self.Reply(201, body)

    def challenge_fetch(self, identity, sid):
        events = []
        with self.lock:
            c = self.challenges.get(sid)
            if c is not None and c.entity["identity"] == identity:
                self._advance(c, events)
                body = c.to_json(self.service_sid, self.account_sid)
            else:
                body = None
        self._notify(events)
        if body is None:
            return self.error(404, 20404, "The requested resource was not found")
        return self.Reply(200, body)

    # ---- challenge lifecycle ----
    def _set(self, c, status, events):
        c.status = status
        c.updated = time.time()
        if status in ("approved", "denied"):
            c.responded = c.updated
        c.reason = "none"
        events.append(c)

    def _advance(self, c, events):
        if c.status != "pending":
            return
        mono = time.monotonic()
        expiry = mono + (c.expires - time.time())
        # Whichever came first: the user's answer or the expiry; a final status stays.
        if c.resolve_at is not None and mono >= c.resolve_at and c.resolve_at < expiry:
            self._set(c, c.resolve_to, events)
        elif mono >= expiry:
            self._set(c, "expired", events)

    def tick(self):
        events = []
        with self.lock:
            for c in self.challenges.values():
                self._advance(c, events)
        self._notify(events)

    def _notify(self, challenges):
        for c in challenges:
            self.log("verify challenge %s -> %s" % (c.sid, c.status))
            if c.status in ("approved", "denied"):
                self.webhook("challenge." + c.status, c.entity["identity"], c.factor, c)

    def webhook(self, event, identity, factor, challenge=None):
        """Build, sign and record (and deliver when configured) a Verify webhook."""
        url = getattr(self.hook, "callback_url", None)
        if not url:
            return
        params = {"uuid": str(uuidlib.uuid4()), "type": event, "account_sid": self.account_sid,
                  "service_sid": self.service_sid, "entity_identity": identity,
                  "factor_sid": factor["sid"], "factor_type": factor["factor_type"],
                  "factor_friendly_name": factor["friendly_name"]}
        if challenge is not None:
            params.update({
                "challenge_sid": challenge.sid, "challenge_status": challenge.status,
                "challenge_details": json.dumps({"message": challenge.message,
                                                 "fields": challenge.fields}),
                "challenge_hidden_details": json.dumps(challenge.hidden or {})})
        body = "&".join(quote_plus(k) + "=" + quote_plus(v) for k, v in params.items())
        entry = {"url": url, "method": "POST", "body": body,
                 "content_type": "application/x-www-form-urlencoded",
                 "headers": {"X-Twilio-Signature": webhook_signature(self.auth_token, url,
                                                                     params)}}
        self.hook.record(entry)

    # ---- control API (/_mock/verify/...) ----
    def control(self, method, path, query, body):
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return self.Reply(400, {"ok": False, "error": "body is not JSON"})
        if not isinstance(data, dict):
            return self.Reply(400, {"ok": False, "error": "body is not an object"})
        m = re.fullmatch(r"/_mock/verify/entities/([^/]+)/factors", path)
        if m and method == "POST":
            return self.ctl_factor(m.group(1), data)
        m = re.fullmatch(r"/_mock/verify/factors/(YF%s)/code" % SID_RE, path)
        if m and method == "GET":
            return self.ctl_code(m.group(1), query.get("step", "0"))
        m = re.fullmatch(r"/_mock/verify/factors/(YF%s)/verify" % SID_RE, path)
        if m and method == "POST":
            return self.ctl_verify_factor(m.group(1))
        m = re.fullmatch(r"/_mock/verify/challenges/(YC%s)/(approve|deny|expire)" % SID_RE, path)
        if m and method == "POST":
            return self.ctl_resolve([m.group(1)], m.group(2))
        m = re.fullmatch(r"/_mock/verify/entities/([^/]+)/(approve|deny)-pending", path)
        if m and method == "POST":
            with self.lock:
                sids = [c.sid for c in self.challenges.values()
                        if c.entity["identity"] == m.group(1) and c.status == "pending"]
            return self.ctl_resolve(sids, m.group(2), allow_empty=True)
        if path == "/_mock/verify/challenges" and method == "GET":
            ident = query.get("identity")
            with self.lock:
                out = [c.to_control_json() for c in self.challenges.values()
                       if ident is None or c.entity["identity"] == ident]
            return self.Reply(200, out)
        if path == "/_mock/verify/entities" and method == "GET":
            with self.lock:
                out = [{"identity": e["identity"], "sid": e["sid"]}
                       for e in self.entities.values()]
            return self.Reply(200, out)
        if path == "/_mock/verify/reset" and method == "POST":
            self.reset()
            return self.Reply(200, {"ok": True})
        return self.Reply(404, {"ok": False, "error": "no such control endpoint"})

    def ctl_factor(self, identity, data):
        """What the Verify Push SDK does in the app: a push factor for the entity."""
        name = data.get("friendly_name", "mock device")
        status = data.get("status", "verified")
        ftype = data.get("factor_type", "push")
        if status not in ("verified", "unverified") or ftype not in ("push", "totp"):
            return self.Reply(400, {"ok": False, "error": "status or factor_type"})
        with self.lock:
            e = self.entities.get(identity) or self._entity(identity)
            have = sum(1 for f in self.factors.values()
                       if f["identity"] == identity and f["factor_type"] == ftype)
            if have >= FACTORS_MAX[ftype]:
                return self.error(400, 60315, "Reached max limit of %d Factors of FactorType = "
                                  "%s per Entity" % (FACTORS_MAX[ftype], ftype))
            f = {"sid": new_sid("YF"), "identity": identity, "entity_sid": e["sid"],
                 "friendly_name": str(name), "status": status, "factor_type": ftype,
                 "created": time.time(), "secret": os.urandom(20)}
            self.factors[f["sid"]] = f
            body = self.factor_json(f)
        # As documented: factor.created when the factor exists but cannot take
        # challenges yet, factor.verified once it can.
        self.webhook("factor.created", identity, dict(f, status="unverified"))
        if status == "verified":
            self.webhook("factor.verified", identity, f)
        return self.Reply(200, body)

    def ctl_code(self, sid, step):
        """The code of a TOTP factor for the current time step plus step."""
        if not re.fullmatch(r"-?\d", step) or abs(int(step)) > TOTP_STEP_CTL_MAX:
            return self.Reply(400, {"ok": False, "error": "step must be -%d..%d" % (
                TOTP_STEP_CTL_MAX, TOTP_STEP_CTL_MAX)})
        with self.lock:
            f = self.factors.get(sid)
            ok = f is not None and f["factor_type"] == "totp"
            code = totp(f["secret"], int(step)) if ok else None
        return self.Reply(404, {"ok": False}) if code is None else self.Reply(200, {"code": code})

    def ctl_verify_factor(self, sid):
        with self.lock:
            f = self.factors.get(sid)
            if f is not None:
                f["status"] = "verified"
        if f is None:
            return self.Reply(404, {"ok": False})
        self.webhook("factor.verified", f["identity"], f)
        return self.Reply(200, {"ok": True})

    def ctl_resolve(self, sids, action, allow_empty=False):
        """Give pending challenges a final status; one already approved, denied or
        expired keeps it (409 with its status when a single one was named)."""
        final = {"approve": "approved", "deny": "denied", "expire": "expired"}[action]
        events = []
        with self.lock:
            found = [self.challenges[s] for s in sids if s in self.challenges]
            for c in found:
                self._advance(c, events)
            pending = [c for c in found if c.status == "pending"]
            for c in pending:
                self._set(c, final, events)
            now = found[0].status if found else None
        self._notify(events)
        if not found and not allow_empty:
            return self.Reply(404, {"ok": False})
        if not allow_empty and not pending:
            return self.Reply(409, {"ok": False, "status": now})
        return self.Reply(200, {"ok": True, "count": len(pending)})
