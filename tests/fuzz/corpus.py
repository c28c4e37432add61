#!/usr/bin/python3
"""corpus.py - (re)write the seed corpora of the libFuzzer harnesses into
tests/fuzz/corpus/<harness>/, one small meaningful input per file, in each
harness's input format (see the comment at the top of tests/fuzz/fuzz_*.c).
With --check, write nothing: list every file that differs from what it would
write (exit status 1 then); the fuzz suite runs this.
The client certificates in seeds/ are self-signed test certificates, valid
2026..2126, whose thumbprints fuzz_clientcert.c allows.
"""
import base64
import hashlib
import hmac
import os
import shutil
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# fuzz_authy_json: byte 0 = (index into http_codes << 2) | call (0 users/new,
# 1 approval request, 2 status poll).
CODES = [200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 0, 999]
# fuzz_clientcert: bit i of byte 0 = params[i] present; bit 7 = DN required.
P_VERIFY, P_FP, P_CERT, P_VSTART, P_VEND, P_SDN, P_IDN = (1 << i for i in range(7))
P_NAMES = 0x80


def authy(call, code, body):
    return bytes([(CODES.index(code) << 2) | call]) + body.encode()


# fuzz_token: byte 0 = (index into TOKEN_CODES << 2) | target (0 claims, 1 Authy
# reply, 2 Verify TOTP reply, 3 request path from "authyId\0token").
TOKEN_CODES = [200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503, 0, 999]


def token(target, code, body):
    return bytes([(TOKEN_CODES.index(code) << 2) | target]) + body.encode()


# fuzz_fcgi_scan: byte 0 = (body cap index << 2) | params cap index, byte 1 =
# largest chunk (0: all at once); then the bytes the web server sends.
FCGI_PARAMS_CAPS = [16, 100, 1024, 65536]
FCGI_BODY_CAPS = [0, 10, 1024, 16384]


def fcgi_rec(rtype, rid, content=b"", pad=None):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return bytes([1, rtype, rid >> 8, rid & 255, len(content) >> 8, len(content) & 255,
                  pad, 0]) + content + b"\0" * pad


def fcgi_len(n):
    return bytes([n]) if n < 128 else bytes([0x80 | (n >> 24), (n >> 16) & 255, (n >> 8) & 255,
                                            n & 255])


def fcgi_pairs(pairs):
    return b"".join(fcgi_len(len(k)) + fcgi_len(len(v)) + k + v for k, v in pairs)


def fcgi_request(rid, pairs, body=b"", keep=False, pad=None):
    """BEGIN_REQUEST (responder), PARAMS, the empty PARAMS, STDIN, the empty STDIN."""
    out = fcgi_rec(1, rid, bytes([0, 1, 1 if keep else 0, 0, 0, 0, 0, 0]), pad)
    if pairs:
        out += fcgi_rec(4, rid, fcgi_pairs(pairs), pad)
    out += fcgi_rec(4, rid, b"", pad)
    if body:
        out += fcgi_rec(5, rid, body, pad)
    return out + fcgi_rec(5, rid, b"", pad)


def fcgi(params_cap, body_cap, chunk, stream):
    return bytes([(FCGI_BODY_CAPS.index(body_cap) << 2) | FCGI_PARAMS_CAPS.index(params_cap),
                  chunk]) + stream


# fuzz_verify: byte 0 = flag << 7 | (index into VERIFY_CODES << 3) | target (0
# entity, 1 push factors, 2 TOTP factors, 3 challenge, 4 challenge status, 5
# webhook outcome, 6 signed form webhook, 7 signed JSON webhook); flag = a
# short SID buffer, or a JSON webhook outcome.
VERIFY_CODES = [200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503, 0, 999]
VERIFY_TOKEN = b"fuzz-verify-auth-token"


def verify(target, code, body, flag=0):
    body = body.encode() if isinstance(body, str) else body
    return bytes([flag << 7 | VERIFY_CODES.index(code) << 3 | target]) + body


def verify_webhook(url, params=None, body=None):
    """A form (params) or JSON (body) webhook signed as Twilio signs it."""
    if body is not None:
        url += "&" if "?" in url else "?"
        url += "bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()
        data, target, raw = url, 7, body
    else:
        data = url + "".join(k + v for k, v in sorted(params))
        target, raw = 6, urllib.parse.urlencode(params)
    sig = base64.b64encode(hmac.new(VERIFY_TOKEN, data.encode(), hashlib.sha1).digest())
    return verify(target, 200, sig + b"\0" + url.encode() + b"\0" + raw.encode())


def cert(mask, *values):
    return bytes([mask]) + b"\0".join(v.encode() if isinstance(v, str) else v
                                      for v in values)


def seeds():
    ec = open(os.path.join(HERE, "seeds", "client-ec.pem")).read()
    rsa = open(os.path.join(HERE, "seeds", "client-rsa.pem")).read()
    uuid = "a4b2c3d4-e5f6-4789-abcd-ef0123456789"
    out = {}
    out["fuzz_b2c"] = {
        "register": '{"email":"jane@example.com","signInName":"jane","phoneNumber":"+1 (415) 555-0101"}',
        "register-cc": '{"email":"a@example.co.uk","countryCode":"+44","phoneNumber":"07700 900456"}',
        "register-int": '{"signInName":"bob@example.org","phoneNumber":4915123456789,"countryCode":49}',
        "register-oid": '{"email":"a@example.com","objectId":"0F8FAD5B-D9CB-469F-A165-70867728950E","phoneNumber":"+14155550101"}',
        "wait": '{"authyId":"123456","email":"a@example.com","signInName":"a"}',
        "wait-bound": '{"authyId":"123","correlationId":"0f8fad5b-d9cb-469f-a165-70867728950e","ipAddress":"2001:db8::1"}',
        "wait-appcode": '{"appCode":987654321,"signInName":"x"}',
        "types": '{"email":true,"signInName":[1],"phoneNumber":{"a":1},"authyId":1.5,"countryCode":null}',
        "escapes": '{"signInName":"\\u0000\\r\\nX: y","email":"\\u00e9@example.com","authyId":"\\u0031"}',
        "utf8": '{"signInName":"J\u00fcrgen \u6d4b\u8bd5 \U0001f510","phoneNumber":"+81 90 1234 5678"}',
        "dup": '{"authyId":"1","authyId":"x","email":"a@b.cc"}',
        "nested": '{"a":' * 20 + '1' + '}' * 20,
        "ws": ' \t\r\n{ "email" : "a@example.com" } \n',
        "number-forms": '{"authyId":1e3,"phoneNumber":-14155550101,"countryCode":0x1}',
        "empty": '{}',
    }
    out["fuzz_authy_json"] = {
        "user-ok": authy(0, 200, '{"message":"User created successfully.","user":{"id":123},"success":true}'),
        "user-60027": authy(0, 400, '{"success":false,"message":"User was not valid","errors":{"message":"User was not valid"},"error_code":"60027"}'),
        "user-401": authy(0, 401, '{"success":false,"message":"Invalid API key","error_code":"60001"}'),
        "user-429": authy(0, 429, '{"success":false,"error_code":"60003"}'),
        "user-503": authy(0, 503, '<html><body>503 Service Unavailable</body></html>'),
        "approval-ok": authy(1, 200, '{"approval_request":{"uuid":"%s"},"success":true}' % uuid),
        "approval-60026": authy(1, 404, '{"success":false,"message":"User not found.","error_code":"60026"}'),
        "status-pending": authy(2, 200, '{"approval_request":{"uuid":"%s","status":"pending","_authy_id":1,"details":{"Sign-in name":"a"}},"success":true}' % uuid),
        "status-approved": authy(2, 200, '{"approval_request":{"status":"approved"},"success":true}'),
        "status-denied": authy(2, 201, '{"approval_request":{"status":"denied"}}'),
        "status-60049": authy(2, 404, '{"success":false,"error_code":60049}'),
        "garbage": authy(2, 200, 'not json {'),
    }
    esc = urllib.parse.quote(ec, safe="")
    out["fuzz_clientcert"] = {
        "pem-ec": cert(P_VERIFY | P_CERT, "SUCCESS", ec),
        "pem-rsa-escaped": cert(P_VERIFY | P_CERT, "SUCCESS", urllib.parse.quote(rsa, safe="")),
        "pem-spaces": cert(P_VERIFY | P_CERT | P_NAMES, "SUCCESS", ec.replace("\n", " ")),
        "pem-and-fp": cert(P_VERIFY | P_FP | P_CERT, "SUCCESS",
                           "58:7F:A2:2A:A4:07:F4:A8:60:08:26:5C:B5:72:CF:AA:98:E4:F9:87", esc),
        "fp-dates": cert(P_VERIFY | P_FP | P_VSTART | P_VEND, "SUCCESS",
                         "cf6f5083c04ad58fa86fbae24a1a543dea5af019",
                         "Nov 23 16:45:55 2026 GMT", "Oct 30 16:45:55 2126 GMT"),
        "fp-names": cert(P_VERIFY | P_FP | P_SDN | P_IDN | P_NAMES, "SUCCESS",
                         "587fa22aa407f4a86008265cb572cfaa98e4f987",
                         "CN=fuzz client,O=b2c-authy test", "CN=fuzz client,O=b2c-authy test"),
        "verify-none": cert(P_VERIFY | P_CERT, "NONE", ec),
        "verify-failed": cert(P_VERIFY | P_FP, "FAILED:certificate has expired",
                              "587fa22aa407f4a86008265cb572cfaa98e4f98"),
        "empty-values": cert(P_VERIFY | P_FP | P_CERT | P_VEND, "SUCCESS", "", "", ""),
        "garbage-pem": cert(P_VERIFY | P_CERT, "SUCCESS",
                            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    }
    conf = open(os.path.join(ROOT, "etc", "b2c-authy.conf.example")).read()
    out["fuzz_config"] = {
        "example": conf,
        "minimal": "authy_api_key = abc123\nclient_cert_thumbprints = "
                   "587fa22aa407f4a86008265cb572cfaa98e4f987\n",
        "quoted": 'approval_message = "Sign in to \\"Contoso\\" \\\\ now"\n'
                  'approval_details = "App=Contoso;Env=prod"\nwait_budget_ms = 25000\n',
        "numbers": "workers = 8\nmax_workers = 64\npoll_interval_ms = 1000\n"
                   "wait_budget_ms = 500\napproval_ttl_s = 0x10\n",
        "env": "\nAUTHY_API_KEY=k3y\nAUTHY_API_URL=https://api.authy.com/\n"
               "CLIENT_CERT_CHECK=off\nLOG_LEVEL=debug\n",
        "thumbprints": "client_cert_thumbprints = 58:7F:A2:2A:A4:07:F4:A8:60:08:26:5C:B5:72:"
                       "CF:AA:98:E4:F9:87, cf6f5083c04ad58fa86fbae24a1a543dea5af019\n",
        "bad": "authy_api_url = http://user:pw@api.authy.com/?q#f\nlisten = \n"
               "no_such_key = 1\nauthy_api_key = a\nauthy_api_key = b\n",
    }
    out["fuzz_phone"] = {
        "us": "+1 (415) 555-0101", "uk-trunk": "+44 (0)20 7946 0958",
        "it": "+39 06 6982 0000", "ru": "+7 8 912 345 67 89", "de-00": "0049 151 23456789",
        "national": b"07700 900456\0+44", "cc-only-digits": b"612345678\x0033",
        "nongeo": "+882 1234 5678", "letters": "+1 415 CALL NOW", "dots": "+33.6.12.34.56.78",
        "mismatch": b"+49 151 23456789\x001",
    }
    out["fuzz_callback"] = {
        "json-post": b"\x01" + b"\0".join([b"1700000000", b"c2lnbmF0dXJl", b"https://mfa.example.com/api/authy/callback",
                                         b'{"uuid":"%s","status":"approved","approval_request":{"transaction":{"details":{"Sign-in name":"a b"},"hidden_details":{"ip":"10.0.0.1"}}},"device":{"id":1,"list":[3,1,2]}}' % uuid.encode()]),
        "form-get": b"\x02" + b"\0".join([b"nonce", b"sig", b"https://mfa.example.com/cb",
                                        b"uuid=%s&status=denied&approval_request%%5Btransaction%%5D%%5Bdetails%%5D%%5BName%%5D=a+b&list%%5B0%%5D=x" % uuid.encode()]),
        "form-post-empty": b"\x00" + b"\0".join([b"n", b"", b"https://x/", b""]),
    }
    out["fuzz_token"] = {
        "claims": token(0, 200, '{"authyId":"1000001","token":"0123456","signInName":"a"}'),
        "claims-number": token(0, 200, '{"authyId":1000001,"token":1234567}'),
        "claims-letters": token(0, 200, '{"authyId":"1","token":"12a4567"}'),
        "claims-grouped": token(0, 200, '{"authyId":"1000001","token":"123 45-67","correlationId":"c-1"}'),
        "authy-valid": token(1, 200, '{"message":"Token is valid.","token":"is valid",'
                                     '"success":true}'),
        "authy-60020": token(1, 401, '{"success":false,"message":"Token is invalid",'
                                     '"token":"is invalid","error_code":"60020"}'),
        "authy-60001": token(1, 401, '{"success":false,"error_code":"60001"}'),
        "authy-60026": token(1, 404, '{"success":false,"error_code":"60026"}'),
        "verify-approved": token(2, 201, '{"sid":"YC0123456789abcdef0123456789abcdef",'
                                         '"status":"approved","factor_type":"totp"}'),
        "verify-pending": token(2, 201, '{"status":"pending"}'),
        "verify-60318": token(2, 403, '{"code":60318,"status":403}'),
        "path": token(3, 200, "1000001\x000123456"),
        "path-bad": token(3, 200, "1000001\x00../x"),
    }
    get = [(b"REQUEST_METHOD", b"GET"), (b"DOCUMENT_URI", b"/healthz")]
    post = [(b"REQUEST_METHOD", b"POST"), (b"SCRIPT_NAME", b"/api/identity"),
            (b"PATH_INFO", b"/register"), (b"CONTENT_TYPE", b"application/json"),
            (b"CONTENT_LENGTH", b"28")]
    claims = b'{"email":"a@example.com"}\n\n\n'
    get_values = fcgi_rec(9, 0, fcgi_pairs([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""),
                                            (b"FCGI_MPXS_CONNS", b""), (b"OTHER", b"")]))
    pairs = fcgi_pairs(post)
    out["fuzz_fcgi_scan"] = {
        "get": fcgi(1024, 1024, 0, fcgi_request(1, get)),
        "post-chunks": fcgi(1024, 1024, 7, fcgi_request(1, post, claims)),
        "no-padding": fcgi(65536, 16384, 3, fcgi_request(1, post, claims, pad=0)),
        "big-padding": fcgi(1024, 1024, 0, fcgi_request(1, get, b"x", pad=255)),
        "keep-conn": fcgi(1024, 1024, 0, fcgi_request(1, get, keep=True) +
                          fcgi_request(1, post, claims, keep=True)),
        "get-values": fcgi(1024, 1024, 5, get_values + fcgi_request(1, get)),
        "mgmt-among": fcgi(1024, 1024, 0, fcgi_rec(1, 1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) +
                           fcgi_rec(77, 0, b"?") + get_values + fcgi_rec(4, 1, pairs) +
                           fcgi_rec(4, 1) + fcgi_rec(5, 1)),
        "abort-keep": fcgi(1024, 1024, 0, fcgi_rec(1, 3, bytes([0, 1, 1, 0, 0, 0, 0, 0])) +
                           fcgi_rec(4, 3, pairs) + fcgi_rec(2, 3) + fcgi_request(4, get)),
        "abort-close": fcgi(1024, 1024, 0, fcgi_rec(1, 3, bytes([0, 1, 0, 0, 0, 0, 0, 0])) +
                            fcgi_rec(2, 3)),
        "stale-abort": fcgi(1024, 1024, 0, fcgi_rec(2, 9) + fcgi_request(1, get)),
        "long-lengths": fcgi(65536, 1024, 0, fcgi_request(1, [(b"HTTP_X" * 30, b"v" * 300)])),
        "pair-split": fcgi(1024, 1024, 1, fcgi_rec(1, 2, bytes([0, 1, 0, 0, 0, 0, 0, 0])) +
                           fcgi_rec(4, 2, pairs[:5]) + fcgi_rec(4, 2, pairs[5:]) +
                           fcgi_rec(4, 2) + fcgi_rec(5, 2)),
        "params-cap": fcgi(16, 1024, 0, fcgi_request(1, post)),
        "body-cap": fcgi(1024, 10, 0, fcgi_request(1, post, claims)),
        "body-zero": fcgi(1024, 0, 0, fcgi_request(1, get)),
        "overflow": fcgi(65536, 1024, 0, fcgi_rec(1, 1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) +
                         fcgi_rec(4, 1, b"\xff\xff\xff\xff\x81\x00\x00\x00")),
        "in-flight": fcgi(1024, 1024, 0, fcgi_request(5, get) + get_values +
                          fcgi_request(6, get) + fcgi_rec(2, 5) + fcgi_rec(5, 5, b"x")),
        "filter-role": fcgi(1024, 1024, 0, fcgi_rec(1, 1, bytes([0, 3, 0, 0, 0, 0, 0, 0]))),
        "version-2": fcgi(1024, 1024, 0, b"\x02" + fcgi_request(1, get)[1:]),
    }
    yf = "YF" + "0123456789abcdef" * 2
    yf2 = "YF" + "fedcba9876543210" * 2
    yc = "YC" + "00112233445566778899aabbccddeeff"
    ident = "01234567890123456789"
    factor = '{"sid":"%s","factor_type":"%s","status":"%s","date_created":"%s"}'
    hook = {"type": "challenge.approved", "entity_identity": ident, "challenge_sid": yc}
    out["fuzz_verify"] = {
        "entity-ok": verify(0, 201, '{"sid":"YE0123","identity":"%s"}' % ident),
        "entity-exists": verify(0, 409, '{"code":60301,"message":"Entity already exists",'
                                        '"status":409}'),
        "entity-auth": verify(0, 401, '{"code":20003,"message":"Authenticate"}'),
        "factors": verify(1, 200, '{"factors":[%s,%s,%s],"meta":{"page_size":200}}' % (
            factor % (yf, "push", "verified", "2026-01-01T00:00:00Z"),
            factor % (yf2, "push", "verified", "2026-02-01T00:00:00Z"),
            factor % (yf, "totp", "unverified", "2026-03-01T00:00:00Z"))),
        "factors-none": verify(1, 200, '{"factors":[]}'),
        "factors-404": verify(1, 404, '{"code":20404,"message":"not found"}'),
        "factors-short": verify(1, 200, '{"factors":[%s]}' % (
            factor % (yf, "push", "verified", "")), 1),
        "totp-factors": verify(2, 200, '{"factors":[%s]}' % (
            factor % (yf, "totp", "verified", "2026-01-01T00:00:00Z"))),
        "totp-60318": verify(2, 403, '{"code":60318,"status":403}'),
        "challenge": verify(3, 201, '{"sid":"%s","status":"pending"}' % yc),
        "challenge-bad-sid": verify(3, 201, '{"sid":"YC../../x","status":"pending"}'),
        "challenge-429": verify(3, 429, '{"code":20429}'),
        "status-approved": verify(4, 200, '{"sid":"%s","status":"approved"}' % yc),
        "status-pending": verify(4, 200, '{"status":"pending"}'),
        "status-expired": verify(4, 200, '{"status":"expired"}'),
        "status-60391": verify(4, 404, '{"code":60391,"message":"Challenge not found"}'),
        "status-html": verify(4, 502, '<html>Bad Gateway</html>'),
        "hook-form": verify(5, 200, urllib.parse.urlencode(hook)),
        "hook-json": verify(5, 200, '{"type":"challenge.denied","entity_identity":"%s",'
                                    '"challenge_sid":"%s"}' % (ident, yc), 1),
        "hook-factor": verify(5, 200, "type=factor.verified&entity_identity=" + ident),
        "signed-form": verify_webhook("https://mfa.example.com/api/verify/callback",
                                      params=sorted(hook.items())),
        "signed-json": verify_webhook("https://mfa.example.com/api/verify/callback?x=1",
                                      body='{"type":"challenge.approved","entity_identity":'
                                           '"%s","challenge_sid":"%s"}' % (ident, yc)),
    }
    return out


def as_bytes(data):
    return data.encode() if isinstance(data, str) else data


def differences():
    """Where tests/fuzz/corpus/ is not what seeds() writes: a list of paths."""
    out = []
    want = seeds()
    top = os.path.join(HERE, "corpus")
    for name in sorted(set(want) | set(os.listdir(top))):
        d = os.path.join(top, name)
        have = set(os.listdir(d)) if os.path.isdir(d) else set()
        files = want.get(name, {})
        for fname in sorted(have | set(files)):
            path = os.path.join(d, fname)
            if fname not in files or fname not in have or \
                    open(path, "rb").read() != as_bytes(files[fname]):
                out.append(os.path.relpath(path, ROOT))
    return out


def main():
    if sys.argv[1:] == ["--check"]:
        diff = differences()
        for path in diff:
            print(f"corpus.py does not write {path} as it is")
        sys.exit(1 if diff else 0)
    for name, files in seeds().items():
        d = os.path.join(HERE, "corpus", name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for fname, data in files.items():
            with open(os.path.join(d, fname), "wb") as f:
                f.write(as_bytes(data))


if __name__ == "__main__":
    main()
