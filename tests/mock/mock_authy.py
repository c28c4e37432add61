#!/usr/bin/python3
"""mock_authy.py - a stand-in for the Authy API (users/new, OneTouch approval
requests) and, through mock_verify.py, for Twilio Verify v2 Push (/v2/...) over
HTTPS on loopback, for the component and end-to-end tests of b2c-authy. Python
3 standard library only. Behaviour is chosen by magic e-mail prefixes (Authy)
or factor names (Verify) and by faults injected through the /_mock control
API; see README.md.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid as uuidlib
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import urllib.request
from urllib.parse import parse_qsl, quote_plus, urlsplit

import mock_verify

DEFAULT_API_KEY = "test-api-key"
API_KEY_HEADER = "X-Authy-API-Key"
BODY_MAX = 1 << 20
MESSAGE_MAX = 200
DETAIL_KEY_MAX = 20  # characters of a details key (approval requests)
DEFAULT_TTL_S = 86400
STALL_MAX_MS = 300000
OVERSIZE_DEFAULT = 100000
TICK_S = 0.1

# Magic e-mail prefixes of users/new (local part, case-insensitive).
USER_FAULTS = ("fail60027", "fail60000", "fail429", "fail503", "failgarbage", "failslow")
# Approval behaviour by the user's e-mail prefix: (final status, default delay ms).
APPROVAL_MAGIC = {
    "autoapprove": ("approved", 1000),
    "autodeny": ("denied", 1000),
    "autoexpire": ("expired", 1000),
    "slowapprove": ("approved", 8000),
}
APPROVAL_MAGIC_RE = re.compile(r"^(autoapprove|autodeny|autoexpire|slowapprove)(\d*)", re.I)
FAULT_MODES = ("status", "garbage", "stall", "drip", "close", "hangup", "ratelimit",
               "oversize", "redirect", "reset")
TOKEN_DIGITS = 7  # the Authy app shows 7-digit codes
TOKEN_STEP_S = 30
FINAL_STATUSES = ("approved", "denied", "expired")
MOCK_APP_ID = "0123456789abcdef01234567"  # the Authy application's id in status replies


def now_ms():
    return int(time.time() * 1000)


def iso_utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def local_part(email):
    return (email or "").split("@", 1)[0].lower()


def totp(secret, digits, step_s, offset=0):
    """RFC 6238 TOTP (HMAC-SHA1) of secret for the current time step plus offset."""
    counter = int(time.time() // step_s) + offset
    mac = hmac.new(secret, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    value = int.from_bytes(mac[o:o + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def totp_step(secret, digits, step_s, code):
    """The time step of a code of the current step or the one before (clock
    drift), compared in constant time; None when it is neither."""
    now = int(time.time() // step_s)
    for off in (0, -1):
        if hmac.compare_digest(code.encode(), totp(secret, digits, step_s, off).encode()):
            return now + off
    return None


def error_body(message, code=None, errors=None):
    body = {"success": False, "message": message, "errors": errors or {"message": message}}
    if code is not None:
        body["error_code"] = code
    return body


def flatten_params(params, top=""):
    """Authy's flattening of callback parameters: nested keys as a[b][c],
    array positions as a[n] (collapsed to [] after encoding), booleans in
    lower case, null as an empty value. Returns encoded "key=value" strings."""
    out = []
    for key, value in params.items():
        # Authy's libraries write spaces as '+' in keys too.
        name = quote_plus(str(key)) if not top else top + quote_plus("[%s]" % key)
        if isinstance(value, dict):
            out.extend(flatten_params(value, name))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                item = name + quote_plus("[%d]" % i)
                if isinstance(v, dict):
                    out.extend(flatten_params(v, item))
                else:
                    out.append(item + "=" + quote_plus(scalar(v)))
        else:
            out.append(name + "=" + quote_plus(scalar(value)))
    return out


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v)


def callback_signature(api_key, nonce, method, url, params):
    """The X-Authy-Signature of a OneTouch callback, as Authy's client libraries
    compute it: base64(HMAC-SHA256(api_key, nonce|METHOD|url|sorted params))
    where the params are flattened, form-encoded (space as '+'), numeric
    positions written %5B%5D, and the "key=value" strings sorted and joined
    with '&'."""
    pairs = [re.sub(r"%5B[0-9]+%5D", "%5B%5D", p) for p in flatten_params(params)]
    encoded = "&".join(sorted(pairs))
    data = "|".join([nonce, method.upper(), url, encoded]).encode()
    return base64.b64encode(hmac.new(api_key.encode(), data, hashlib.sha256).digest()).decode()


class CallbackHook:
    """Receives every approval status change (outside the state lock). With a
    callback URL it builds the OneTouch callback Authy would send, signs it,
    records it (GET /_mock/callbacks) and, when delivery is on, POSTs it."""

    def __init__(self, api_key, logger, callback_url=None, deliver=False, ca_file=None):
        self.api_key = api_key
        self.log = logger
        self.callback_url = callback_url
        self.deliver = deliver
        self.ca_file = ca_file
        self.lock = threading.Lock()
        self.recorded = []

    def payload(self, snap):
        return {
            "authy_id": snap["_authy_id"],
            "device_uuid": "mock-device-%d" % snap["_authy_id"],
            "callback_action": "approval_request_status",
            "uuid": snap["uuid"],
            "status": snap["status"],
            "approval_request": {
                "transaction": {
                    "details": snap.get("details", {}),
                    "hidden_details": snap.get("hidden_details", {}),
                    "message": snap.get("message", ""),
                    "status": snap["status"],
                    "uuid": snap["uuid"],
                    "encrypted": False,
                    "flagged": False,
                    "reason": "",
                    "requester_details": None,
                },
                "expiration_timestamp": int(time.time()) + int(snap.get("seconds_to_expire", 0)),
            },
        }

    def record(self, entry):
        """Keep a signed callback for GET /_mock/callbacks; POST it when delivering."""
        with self.lock:
            self.recorded.append(entry)
            del self.recorded[:-1000]
        if self.deliver:
            threading.Thread(target=self.post, args=(entry,), daemon=True).start()

    def approval_changed(self, snapshot):
        self.log("approval %s -> %s" % (snapshot["uuid"], snapshot["status"]))
        if not self.callback_url or snapshot["status"] == "pending":
            return
        params = self.payload(snapshot)
        nonce = str(int(time.time()))
        body = json.dumps(params)
        entry = {"url": self.callback_url, "method": "POST", "body": body,
                 "headers": {"X-Authy-Signature-Nonce": nonce,
                             "X-Authy-Signature": callback_signature(
                                 self.api_key, nonce, "POST", self.callback_url, params)}}
        self.record(entry)

    def post(self, entry):
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        req = urllib.request.Request(entry["url"], data=entry["body"].encode(), method="POST",
                                     headers=dict(entry["headers"], **{
                                         "Content-Type": entry.get("content_type",
                                                                   "application/json")}))
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                self.log("callback %s -> %d" % (entry["url"], r.status))
        except Exception as e:  # delivery failures are logged, like Authy's retries
            self.log("callback %s failed: %s" % (entry["url"], e))

    def callbacks(self):
        with self.lock:
            return list(self.recorded)


class Reply:
    """One HTTP reply: status, JSON (or raw bytes) body, extra headers."""

    def __init__(self, status, body=None, raw=None, headers=None, delay_s=0.0):
        self.status = status
        if raw is not None:
            self.body = raw
        else:
            self.body = json.dumps(body if body is not None else {}).encode()
        self.headers = list(headers or [])
        self.delay_s = delay_s
        self.close = False


class Approval:
    def __init__(self, authy_id, message, details, hidden, ttl_s, behaviour, email=""):
        self.uuid = str(uuidlib.uuid4())
        self.oid = os.urandom(12).hex()  # the request's own "_id"
        self.authy_id = authy_id
        self.email = email
        self.processed = None  # when the user approved or denied it
        self.message = message
        self.details = details
        self.hidden = hidden
        self.ttl_s = ttl_s
        self.status = "pending"
        self.created = time.time()
        self.updated = self.created
        self.created_mono = time.monotonic()
        self.resolve_to, self.resolve_at = None, None
        self.polls = 0  # status reads through the API
        if behaviour is not None:
            self.resolve_to = behaviour[0]
            self.resolve_at = self.created_mono + behaviour[1] / 1000.0

    def to_json(self):
        """The documented status reply's fields (the application's and the user's
        identifiers are fixed stand-ins; processed_at is null until the user
        answers), plus the request's details."""
        return {
            "uuid": self.uuid,
            "status": self.status,
            "_authy_id": self.authy_id,
            "_id": self.oid,
            "_app_name": "mock",
            "_app_serial_id": 1,
            "_user_email": self.email,
            "app_id": MOCK_APP_ID,
            "user_id": "%024x" % self.authy_id,
            "notified": False,
            "created_at": iso_utc(self.created),
            "updated_at": iso_utc(self.updated),
            "processed_at": iso_utc(self.processed) if self.processed else None,
            "seconds_to_expire": self.ttl_s,
            "details": dict(self.details),
            "hidden_details": dict(self.hidden),
        }

    def to_control_json(self):
        j = self.to_json()
        j["message"] = self.message
        j["polls"] = self.polls
        return j


class State:
    """Users, approval requests, faults, the request log and counters. Every
    access holds self.lock; hooks run after the lock is released."""

    def __init__(self, hook):
        self.lock = threading.Lock()
        self.hook = hook
        self.next_id = 1000001
        self.open_connections = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.users = {}
            self.by_phone = {}
            self.approvals = {}
            self.faults = []
            self.requests = []
            self.connections_opened = 0
            self.request_count = 0

    # counters and log
    def conn_opened(self):
        with self.lock:
            self.connections_opened += 1
            self.open_connections += 1

    def conn_closed(self):
        with self.lock:
            self.open_connections -= 1

    def stats(self):
        with self.lock:
            return {
                "connections_opened": self.connections_opened,
                "requests": self.request_count,
                "open_connections": self.open_connections,
            }

    def record(self, entry):
        with self.lock:
            self.request_count += 1
            self.requests.append(entry)
            if len(self.requests) > 10000:
                del self.requests[:1000]

    def request_log(self):
        with self.lock:
            return list(self.requests)

    # faults
    def add_fault(self, fault):
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, path):
        with self.lock:
            for f in self.faults:
                if path.startswith(f["match"]) and f["count"] != 0:
                    if f["count"] > 0:
                        f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                    return dict(f)
        return None

    # users
    def create_user(self, email, cellphone, country_code):
        with self.lock:
            key = (country_code.lstrip("0"), cellphone)
            uid = self.by_phone.get(key)
            if uid is None:
                uid = self.next_id
                self.next_id += 1
                self.by_phone[key] = uid
                self.users[uid] = {"email": email, "cellphone": cellphone, "cc": country_code,
                                   "secret": os.urandom(20), "registered": False}
            return uid

    def user_token(self, uid):
        """The code the user's Authy app shows now, or None for an unknown user."""
        with self.lock:
            user = self.users.get(uid)
            return None if user is None else totp(user["secret"], TOKEN_DIGITS, TOKEN_STEP_S)

    def set_registered(self, uid):
        """The user installed the app and signed in once: tokens are enforced from now on."""
        with self.lock:
            user = self.users.get(uid)
            if user is not None:
                user["registered"] = True
            return user is not None

    def check_token(self, uid, token):
        """(user found, user registered, token right) for a token verification.
        A code is accepted once (RFC 6238, 5.2): a right code of a time step
        no later than the last one accepted for the user counts as wrong."""
        with self.lock:
            user = self.users.get(uid)
            if user is None:
                return False, False, False
            step = totp_step(user["secret"], TOKEN_DIGITS, TOKEN_STEP_S, token)
            ok = step is not None and step > user.get("last_step", -1)
            if ok:
                user["last_step"] = step
            return True, user["registered"], ok

    def user_exists(self, uid):
        with self.lock:
            return uid in self.users

    # approvals
    def create_approval(self, uid, message, details, hidden, ttl_s):
        with self.lock:
            user = self.users.get(uid)
            if user is None:
                return None
            a = Approval(uid, message, details, hidden, ttl_s, approval_behaviour(user["email"]),
                         user["email"])
            self.approvals[a.uuid] = a
            return a.uuid

    def _set(self, a, status, events):
        a.status = status
        a.updated = time.time()
        if status in ("approved", "denied"):
            a.processed = a.updated
        events.append(a.to_control_json())

    def _advance(self, a, mono, events):
        if a.status != "pending":
            return
        expiry = a.created_mono + a.ttl_s
        # Whichever came first: the user's answer or the expiry; a final status stays.
        if a.resolve_at is not None and mono >= a.resolve_at and a.resolve_at < expiry:
            self._set(a, a.resolve_to, events)
        elif mono >= expiry:
            self._set(a, "expired", events)

    def _notify(self, events):
        for e in events:
            try:
                self.hook.approval_changed(e)
            except Exception:  # a hook must never break the API
                traceback.print_exc()

    def tick(self):
        events = []
        with self.lock:
            mono = time.monotonic()
            for a in self.approvals.values():
                self._advance(a, mono, events)
        self._notify(events)

    def approval(self, uuid, control=False):
        events = []
        with self.lock:
            a = self.approvals.get(uuid)
            if a is not None:
                self._advance(a, time.monotonic(), events)
                a.polls += 0 if control else 1
                snap = a.to_control_json() if control else a.to_json()
        self._notify(events)
        return None if a is None else snap

    def resolve(self, uuid, status):
        """Give a pending request its final status, as the user or its expiry
        would. Returns None for an unknown uuid, else the status it has now (a
        request already approved, denied or expired keeps it)."""
        events = []
        with self.lock:
            a = self.approvals.get(uuid)
            if a is not None:
                self._advance(a, time.monotonic(), events)
                if a.status == "pending":
                    self._set(a, status, events)
            now = None if a is None else a.status
        self._notify(events)
        return now

    def resolve_user(self, uid, status):
        events = []
        with self.lock:
            if uid not in self.users:
                return None
            mono = time.monotonic()
            for a in self.approvals.values():
                self._advance(a, mono, events)
                if a.authy_id == uid and a.status == "pending":
                    self._set(a, status, events)
        self._notify(events)
        return sum(1 for e in events if e["status"] == status)

    def list_approvals(self, uid):
        with self.lock:
            return [
                a.to_control_json()
                for a in self.approvals.values()
                if uid is None or a.authy_id == uid
            ]


def approval_behaviour(email):
    m = APPROVAL_MAGIC_RE.match(local_part(email))
    if m is None:
        return None
    status, delay = APPROVAL_MAGIC[m.group(1).lower()]
    if m.group(2):
        delay = int(m.group(2)[:9])
    return (status, delay)


def parse_int(s, lo, hi):
    if s is None or not re.fullmatch(r"\d{1,12}", s):
        return None
    v = int(s)
    return v if lo <= v <= hi else None


def bracket_params(params, name):
    out = {}
    for k, v in params.items():
        m = re.fullmatch(re.escape(name) + r"\[(.*)\]", k)
        if m:
            out[m.group(1)] = v
    return out


class AuthyApi:
    """The Authy endpoints proper; each returns a Reply."""

    def __init__(self, state):
        self.state = state

    def route(self, method, path, params):
        m = re.fullmatch(r"/onetouch/json/users/([^/]+)/approval_requests", path)
        if path == "/protected/json/users/new":
            return self.users_new(params) if method == "POST" else self.not_allowed()
        if m:
            return self.approval_create(m.group(1), params) if method == "POST" else self.not_allowed()
        m = re.fullmatch(r"/onetouch/json/approval_requests/([^/]+)", path)
        if m:
            return self.approval_status(m.group(1)) if method == "GET" else self.not_allowed()
        m = re.fullmatch(r"/protected/json/verify/([^/]+)/([^/]+)", path)
        if m:
            if method != "GET":
                return self.not_allowed()
            return self.token_verify(m.group(1), m.group(2), params.get("force", ""))
        return Reply(404, error_body("Resource not found"))

    def not_allowed(self):
        return Reply(405, error_body("Method not allowed"))

    def users_new(self, params):
        email = params.get("user[email]", "")
        cell = params.get("user[cellphone]", "")
        cc = params.get("user[country_code]", "")
        lp = local_part(email)
        magic = next((p for p in USER_FAULTS if lp.startswith(p)), None)
        delay = 0.0
        if magic == "fail60027":
            return user_invalid({"message": "User was not valid"})
        if magic == "fail60000":
            return Reply(400, error_body("Invalid parameters", "60000"))
        if magic == "fail429":
            return rate_limited()
        if magic == "fail503":
            return Reply(503, error_body("Service unavailable"))
        if magic == "failgarbage":
            return Reply(200, raw=b"not json {")
        if magic == "failslow":
            delay = 3.0
        errors = {}
        if "@" not in email:
            errors["email"] = "is invalid"
        if not re.fullmatch(r"\d{4,14}", cell):
            errors["cellphone"] = "is invalid"
        if not re.fullmatch(r"\d{1,4}", cc):
            errors["country_code"] = "is invalid"
        if errors:
            errors["message"] = "User was not valid"
            return user_invalid(errors)
        uid = self.state.create_user(email, cell, cc)
        body = {"message": "User created successfully.", "user": {"id": uid}, "success": True}
        return Reply(200, body, delay_s=delay)

    def approval_create(self, sid, params):
        uid = parse_int(sid, 0, 10**12)
        if uid is None or not self.state.user_exists(uid):
            return Reply(404, error_body("User not found", "60026"))
        message = params.get("message", "")
        if message == "" or len(message) > MESSAGE_MAX:
            return Reply(400, error_body("Invalid message", "60000", {"message": "is invalid"}))
        ttl = params.get("seconds_to_expire")
        ttl_s = DEFAULT_TTL_S if ttl in (None, "") else parse_int(ttl, 1, 10**9)
        if ttl_s is None:
            return Reply(400, error_body("Invalid seconds_to_expire", "60000"))
        details = bracket_params(params, "details")
        hidden = bracket_params(params, "hidden_details")
        if any(len(k) > DETAIL_KEY_MAX for k in details):
            # The documented limit; the error the API gives is not documented.
            return Reply(400, error_body("Invalid details", "60000", {"details": "is invalid"}))
        uuid = self.state.create_approval(uid, message, details, hidden, ttl_s)
        if uuid is None:
            return Reply(404, error_body("User not found", "60026"))
        return Reply(200, {"approval_request": {"uuid": uuid}, "success": True})

    def token_verify(self, token, sid, force):
        """GET /protected/json/verify/{token}/{authy_id}. Like the real API, a
        user who has not registered the app yet passes with any code unless
        force=true is sent."""
        uid = parse_int(sid, 0, 10**12)
        found, registered, ok = (False, False, False) if uid is None else \
            self.state.check_token(uid, token)
        if not found:
            return Reply(404, error_body("User not found", "60026"))
        if not re.fullmatch(r"\d{6,10}", token):
            return Reply(400, error_body("Invalid token format", "60002",
                                         {"message": "token is invalid"}))
        if ok or (not registered and force.lower() != "true"):
            # "success" is the string "true" here, as the API documents this reply
            # (elsewhere, and in this call's errors, it is a JSON boolean).
            return Reply(200, {"message": "Token is valid.", "token": "is valid",
                               "success": "true",
                               "device": {"id": None, "os_type": "android", "registration_date": 0}})
        body = error_body("Token is invalid", "60020")
        body["token"] = "is invalid"
        return Reply(401, body)

    def approval_status(self, uuid):
        snap = self.state.approval(uuid)
        if snap is None:
            return Reply(404, error_body("Approval request not found", "60049"))
        return Reply(200, {"approval_request": snap, "success": True})


def user_invalid(errors):
    return Reply(400, error_body("User was not valid", "60027", errors))


def rate_limited(twilio=False):
    """A 429 as documented: Authy's error 60003 (its message "DoS protection"), or on
    Verify Twilio's body with code 20429. Retry-After is the mock's own addition."""
    body = (mock_verify.twilio_error(429, 20429, "Too Many Requests") if twilio else
            error_body("DoS protection", "60003"))
    return Reply(429, body, headers=[("Retry-After", "1")])


def parse_fault(body):
    try:
        f = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return None, "body is not JSON"
    if not isinstance(f, dict):
        return None, "body is not an object"
    fault = {
        "match": f.get("match", "/"),
        "mode": f.get("mode"),
        "status": f.get("status", 503),
        "count": f.get("count", 1),
        "delay_ms": f.get("delay_ms", 0),
        "size": f.get("size", OVERSIZE_DEFAULT),
        "error_code": f.get("error_code"),
    }
    if not isinstance(fault["match"], str) or fault["mode"] not in FAULT_MODES:
        return None, "match must be a string and mode one of " + ",".join(FAULT_MODES)
    for k, lo, hi in (("status", 100, 599), ("count", -1, 10**6), ("delay_ms", 0, 10**7),
                      ("size", 0, 64 << 20)):
        v = fault[k]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            return None, "%s out of range" % k
    if fault["count"] == 0:
        return None, "count must not be 0"
    if fault["error_code"] is not None and not isinstance(fault["error_code"], str):
        return None, "error_code must be a string"
    return fault, None


class Control:
    """The /_mock control API (no API key)."""

    def __init__(self, state):
        self.state = state

    def route(self, method, path, query, body):
        s = self.state
        m = re.fullmatch(r"/_mock/approval_requests/([^/]+)/(approve|deny|expire)", path)
        if m and method == "POST":
            final = {"approve": "approved", "deny": "denied", "expire": "expired"}[m.group(2)]
            now = s.resolve(m.group(1), final)
            if now is None:
                return Reply(404, {"ok": False})
            return Reply(200 if now == final else 409, {"ok": now == final, "status": now})
        m = re.fullmatch(r"/_mock/users/([^/]+)/(approve|deny)-pending", path)
        if m and method == "POST":
            uid = parse_int(m.group(1), 0, 10**12)
            final = "approved" if m.group(2) == "approve" else "denied"
            n = None if uid is None else s.resolve_user(uid, final)
            return Reply(404, {"ok": False}) if n is None else Reply(200, {"ok": True, "count": n})
        m = re.fullmatch(r"/_mock/users/([^/]+)/(token|app)", path)
        if m:
            uid = parse_int(m.group(1), 0, 10**12)
            if m.group(2) == "token" and method == "GET":
                code = None if uid is None else s.user_token(uid)
                return Reply(404, {"ok": False}) if code is None else Reply(200, {"token": code})
            if m.group(2) == "app" and method == "POST":
                ok = uid is not None and s.set_registered(uid)
                return Reply(200 if ok else 404, {"ok": ok})
        if path == "/_mock/approval_requests" and method == "GET":
            aid = query.get("authy_id")
            uid = None if aid is None else parse_int(aid, 0, 10**12)
            if aid is not None and uid is None:
                return Reply(400, {"ok": False, "error": "authy_id must be digits"})
            return Reply(200, s.list_approvals(uid))
        if path == "/_mock/requests" and method == "GET":
            return Reply(200, s.request_log())
        if path == "/_mock/fault" and method == "POST":
            fault, err = parse_fault(body)
            if fault is None:
                return Reply(400, {"ok": False, "error": err})
            s.add_fault(fault)
            return Reply(200, {"ok": True})
        if path == "/_mock/fault" and method == "DELETE":
            s.clear_faults()
            return Reply(200, {"ok": True})
        if path == "/_mock/reset" and method == "POST":
            s.reset()
            return Reply(200, {"ok": True})
        if path == "/_mock/stats" and method == "GET":
            return Reply(200, s.stats())
        if path == "/_mock/callbacks" and method == "GET":
            return Reply(200, s.hook.callbacks())
        return Reply(404, {"ok": False, "error": "no such control endpoint"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MockAuthy/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this

    def do_GET(self):
        self.dispatch()

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        self.server.log("%s %s" % (self.client_address[0], fmt % args))

    def dispatch(self):
        try:
            self.handle_api()
        except (OSError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send_reply(Reply(500, error_body("mock internal error")))
            except Exception:
                pass

    def read_body(self):
        """The request body, or None after replying with an error."""
        if self.headers.get("Transfer-Encoding"):
            self.send_reply(self.closing(Reply(411, error_body("Length required"))))
            return None
        cl = self.headers.get("Content-Length", "0").strip() or "0"
        n = parse_int(cl, 0, 10**12)
        if n is None or n > BODY_MAX:
            self.send_reply(self.closing(Reply(413 if n else 400, error_body("Bad body length"))))
            return None
        body = self.rfile.read(n) if n else b""
        if len(body) != n:
            self.close_connection = True
            return None
        return body

    @staticmethod
    def closing(reply):
        reply.close = True
        return reply

    def handle_api(self):
        url = urlsplit(self.path)
        path, method = url.path, self.command
        body = self.read_body()
        if body is None:
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if path.startswith("/_mock/verify/"):
            self.send_reply(self.server.verify.control(method, path, query, body))
            return
        if path.startswith("/_mock/") or path == "/_mock":
            if path == "/_mock/reset" and method == "POST":
                self.server.verify.reset()
            self.send_reply(self.server.control.route(method, path, query, body))
            return
        pairs = parse_qsl(url.query, keep_blank_values=True)
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(pairs)
        verify = path.startswith("/v2/")
        if verify:
            key_ok = self.server.verify.auth_ok(self.headers.get("Authorization", ""))
            for k in set(k for k, _ in pairs if sum(1 for x, _ in pairs if x == k) > 1):
                params[k] = [v for x, v in pairs if x == k]
        else:
            key = self.headers.get(API_KEY_HEADER, "")
            key_ok = hmac.compare_digest(key.encode(), self.server.api_key.encode())
        self.server.state.record({
            "method": method,
            "path": path,
            "params": params,
            "headers": {k: v for k, v in self.headers.items()
                        if k.lower() not in (API_KEY_HEADER.lower(), "authorization")},
            "api_key_ok": key_ok,
            "t": now_ms(),
        })
        fault = self.server.state.take_fault(path)
        if fault is not None and self.apply_fault(fault):
            return
        if verify:
            reply = self.server.verify.route(method, path, pairs, key_ok)
        elif not key_ok:
            reply = Reply(401, error_body("Invalid API key", "60001"))
        else:
            reply = self.server.api.route(method, path, params)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if fault is not None and fault["mode"] == "reset":
            self.reset_connection()
            return
        if fault is not None and fault["mode"] == "drip":
            self.send_reply(reply, drip_ms=fault["delay_ms"] or 100)
        else:
            self.send_reply(reply)
        if fault is not None and fault["mode"] == "hangup":
            # As a server ending a keep-alive connection: the reply promised
            # to keep it, the close comes while the client holds it idle.
            self.wfile.flush()
            time.sleep((fault["delay_ms"] or 50) / 1000.0)
            self.close_connection = True

    def reset_connection(self):
        """The request was acted on; the connection ends with a TCP reset, no reply."""
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        sock.close()

    def apply_fault(self, f):
        """Act on a fault; True when the request is fully handled."""
        mode = f["mode"]
        if mode == "status":
            msg = "Injected HTTP %d" % f["status"]
            body = error_body(msg, f["error_code"])
            if urlsplit(self.path).path.startswith("/v2/"):
                # Twilio's error body; its "code" is a number.
                body = {"message": msg, "status": f["status"]}
                if f["error_code"] is not None and f["error_code"].isdigit():
                    body = mock_verify.twilio_error(f["status"], int(f["error_code"]), msg)
            self.send_reply(Reply(f["status"], body))
        elif mode == "garbage":
            self.send_reply(Reply(200, raw=b"not json {"))
        elif mode == "redirect":
            # Back to the same URL: a client that follows gets the normal reply.
            status = f["status"] if 300 <= f["status"] <= 399 else 302
            where = "https://%s%s" % (self.headers.get("Host", "localhost"), self.path)
            self.send_reply(Reply(status, error_body("Moved"), headers=[("Location", where)]))
        elif mode == "ratelimit":
            self.send_reply(rate_limited(urlsplit(self.path).path.startswith("/v2/")))
        elif mode == "oversize":
            pad = "x" * f["size"]
            self.send_reply(Reply(200, {"success": True, "pad": pad}))
        elif mode == "stall":
            self.stall(f["delay_ms"] or STALL_MAX_MS)
        elif mode == "close":
            self.close_connection = True
        else:
            return False
        return True

    def stall(self, ms):
        """Never answer: wait until the client closes, ms pass or the server stops."""
        end = time.monotonic() + ms / 1000.0
        sock = self.connection
        self.close_connection = True
        while not self.server.stopping.is_set() and time.monotonic() < end:
            r, _, _ = select.select([sock], [], [], 0.2)
            if not r:
                continue
            try:
                if not sock.recv(4096):
                    return
            except ssl.SSLWantReadError:
                continue
            except OSError:
                return

    def send_reply(self, reply, drip_ms=0):
        body = reply.body
        head = ["HTTP/1.1 %d %s" % (reply.status, self.responses.get(reply.status, ("",))[0]),
                "Server: " + self.version_string(),
                "Date: " + self.date_time_string(),
                "Content-Type: application/json",
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % h for h in reply.headers]
        if reply.close or self.close_connection:
            head.append("Connection: close")
            self.close_connection = True
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        self.log_request(reply.status, len(body))
        if drip_ms <= 0:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            if self.server.stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(data[i:i + 1])
            time.sleep(drip_ms / 1000.0)


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, tls, api_key, log_path, callback=None, verify=None):
        self.tls = tls
        self.api_key = api_key
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        self.stopping = threading.Event()
        self.state = State(CallbackHook(api_key, self.log, **(callback or {})))
        self.api = AuthyApi(self.state)
        self.control = Control(self.state)
        self.verify = mock_verify.VerifyMock(Reply, self.log, self.state.hook, **(verify or {}))
        super().__init__(addr, Handler)

    def log(self, msg):
        if self.log_file is None:
            return
        with self.log_lock:
            self.log_file.write("%s %s\n" % (iso_utc(time.time()), msg))

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # client that never completes it cannot block the accept loop.
        self.state.conn_opened()
        tls_sock = None
        try:
            request.settimeout(10)
            tls_sock = self.tls.wrap_socket(request, server_side=True)
            self.RequestHandlerClass(tls_sock, client_address, self)
        except (OSError, ssl.SSLError) as e:
            self.log("%s connection error: %s" % (client_address[0], e))
        finally:
            self.state.conn_closed()
            if tls_sock is not None:
                try:
                    tls_sock.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        self.log("%s handler error: %s" % (client_address[0], sys.exc_info()[1]))


def ticker(server):
    while not server.stopping.wait(TICK_S):
        try:
            server.state.tick()
            server.verify.tick()
        except Exception:
            traceback.print_exc()


def write_ready(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="Mock Authy API over HTTPS")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--api-key", default=DEFAULT_API_KEY)
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    ap.add_argument("--callback-url", help="sign (and record) OneTouch callbacks for this URL")
    ap.add_argument("--callback-deliver", action="store_true",
                    help="also POST each callback to --callback-url")
    ap.add_argument("--callback-ca", help="CA file to verify the callback URL's server")
    ap.add_argument("--verify-service-sid", default=mock_verify.DEFAULT_SERVICE_SID)
    ap.add_argument("--twilio-account-sid", default=mock_verify.DEFAULT_ACCOUNT_SID)
    ap.add_argument("--twilio-auth-token", default=mock_verify.DEFAULT_AUTH_TOKEN,
                    help="Basic auth password with the account SID; signs Verify webhooks")
    ap.add_argument("--twilio-api-key", help="an API key SID also accepted for Basic auth")
    ap.add_argument("--twilio-api-secret")
    args = ap.parse_args()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)
    callback = {"callback_url": args.callback_url, "deliver": args.callback_deliver,
                "ca_file": args.callback_ca}
    verify = {"service_sid": args.verify_service_sid, "account_sid": args.twilio_account_sid,
              "auth_token": args.twilio_auth_token, "api_key": args.twilio_api_key,
              "api_secret": args.twilio_api_secret}
    server = MockServer((args.host, args.port), tls, args.api_key, args.log, callback, verify)

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=ticker, args=(server,), daemon=True).start()
    port = server.server_address[1]
    if args.ready_file:
        write_ready(args.ready_file, port)
    print("ready port=%d" % port, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
