"""stack.py - start and drive the pieces of an end-to-end test of b2c-authy.

Test PKI (scripts/gen-test-certs.sh), the mock Authy API over TLS, the real
responder binary on a Unix socket, and FastCGI requests through cgi-fcgi
(Debian libfcgi-bin) or, for what cgi-fcgi cannot send (a body without
CONTENT_LENGTH), a minimal FastCGI client of its own. Python 3 standard
library only. Every process started here is stopped by Stack.close().

Sanitizers and valgrind: the responder gets ASAN_OPTIONS, UBSAN_OPTIONS and
LSAN_OPTIONS from the environment, and runs under $B2C_AUTHY_WRAPPER when set
(e.g. "valgrind --error-exitcode=99 --leak-check=full"). Responder.stop()
scans its log for sanitizer and valgrind reports; any finding makes
Counter.summary() count one more failure.
"""
import json
import os
import re
import shlex
import signal
import struct
import socket
import ssl
import subprocess
import shutil
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.environ.get("B2C_AUTHY_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("B2C_AUTHY_BIN") or os.path.join(ROOT, "cgi-bin", "b2c-authy.fcgi")
API_KEY = "e2e-secret-api-key-0123456789"
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
# Reports of AddressSanitizer, LeakSanitizer, UBSan and valgrind's memcheck.
FINDING_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehavior|"
    r"==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
    r"Mismatched free|Source and destination overlap|.* definitely lost)")
FINDINGS = []  # (what, excerpt) of every report seen, for Counter.summary()


def child_env(extra=None):
    """The minimal environment of a responder, plus the sanitizer options."""
    env = {"PATH": "/usr/bin:/bin"}
    env.update({k: os.environ[k] for k in SANITIZER_VARS if k in os.environ})
    env.update(extra or {})
    return env


def wrapper():
    """The command prefix from $B2C_AUTHY_WRAPPER (e.g. valgrind ...), or []."""
    return shlex.split(os.environ.get("B2C_AUTHY_WRAPPER", ""))


def scan_findings(text, what):
    """Record sanitizer/valgrind reports in text; returns True when there were any."""
    m = FINDING_RE.search(text)
    if m:
        FINDINGS.append((what, text[max(0, m.start() - 200):m.start() + 2500]))
    return m is not None


SECRET_KEYS = ("authy_api_key", "twilio_auth_token", "twilio_api_secret",
               "verify_identity_secret")
# One-time codes the tests sent (tests add them here): never in a responder's log.
ONE_TIME_CODES = set()
# A phone number written out: '+' and 8 or more digits (masked ones carry '*').
PHONE_RE = re.compile(r"\+\d(?:[ ().-]?\d){7,}")


def scan_secrets(text, what, settings):
    """Record a secret from settings, or a phone number written out, found in a
    responder's log; returns True when there was one."""
    leaked = [f"secret {k}" for k, v in settings.items()
              if k in SECRET_KEYS and len(str(v)) >= 8 and str(v) in text]
    # A code only as a number of its own: a 6-digit code may turn up by chance inside
    # a 20-digit Verify identity or another number of a long log.
    leaked += [f"one-time code {c[:2]}..." for c in sorted(ONE_TIME_CODES)
               if re.search(r"(?<!\d)%s(?!\d)" % re.escape(c), text)]
    leaked += [f"phone {m.group(0)[:4]}..." for m in PHONE_RE.finditer(text)]
    leaked += [f"phone field {m.group(0)[:12]}..."
               for m in re.finditer(r"phone=[^ *]*[0-9]{5}", text) if "*" not in m.group(0)]
    if leaked:
        FINDINGS.append((what, "log leaks: " + ", ".join(sorted(set(leaked))[:5])))
    return bool(leaked)


class Counter:
    """Counts checks and prints the closing "N passed, N failed" line. A suite that
    ran no check fails, unless it said why with skip()."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = []

    def skip(self, why):
        """Leave out what needs something this machine lacks, saying so."""
        self.skipped.append(why)
        print(f"skipped: {why}", flush=True)

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok {what}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {what} {detail}", flush=True)
        return cond

    def summary(self):
        for what, excerpt in FINDINGS:
            self.check(False, f"no sanitizer or valgrind report from {what}",
                       "\n" + excerpt)
        del FINDINGS[:]
        if self.passed == 0 and self.failed == 0 and not self.skipped:
            self.check(False, "the suite ran a check", "no check ran and no skip was given")
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def make_certs(workdir):
    """Generate (or reuse $B2C_AUTHY_CERTS) the test PKI; return its directory."""
    certs = os.environ.get("B2C_AUTHY_CERTS") or os.path.join(workdir, "certs")
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "gen-test-certs.sh"), certs],
                   check=True, stdout=subprocess.DEVNULL)
    return certs


def thumbprints(certs):
    out = {}
    with open(os.path.join(certs, "thumbprints.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


def write_conf(work, name, settings, mode=0o600):
    """A configuration file of key = value lines in work; returns its path."""
    path = os.path.join(work, name)
    with open(path, "w") as f:
        for k, v in settings.items():
            f.write(f"{k} = {v}\n")
    os.chmod(path, mode)
    return path


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Mock:
    """The mock Authy API and its control endpoints."""

    def __init__(self, workdir, certs, cert="server", extra=()):
        self.ready = os.path.join(workdir, f"mock-{cert}.port")
        self.log = os.path.join(workdir, f"mock-{cert}.log")
        self.certs = certs
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "mock", "mock_authy.py"),
             "--port", "0", "--cert", os.path.join(certs, f"{cert}.pem"),
             "--key", os.path.join(certs, f"{cert}.key"), "--api-key", API_KEY,
             "--ready-file", self.ready, "--log", self.log] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.ready) and open(self.ready).read().strip(), 15,
                 "the mock Authy API")
        self.port = int(open(self.ready).read().strip())
        self.url = f"https://127.0.0.1:{self.port}"
        self.ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def approvals(self, authy_id):
        return self.call("GET", f"/_mock/approval_requests?authy_id={authy_id}")

    def requests(self):
        return self.call("GET", "/_mock/requests")

    def fault(self, **kw):
        return self.call("POST", "/_mock/fault", kw)

    def callbacks(self):
        return self.call("GET", "/_mock/callbacks")

    def clear_faults(self):
        return self.call("DELETE", "/_mock/fault")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Responder:
    """The real b2c-authy binary listening on a Unix socket."""

    def __init__(self, workdir, settings, name="responder", env=None):
        self.name = name
        self.sock = os.path.join(workdir, f"{name}.sock")
        self.log = os.path.join(workdir, f"{name}.log")
        self.scanned = False
        settings = dict(settings)
        self.settings = settings
        settings.setdefault("listen", self.sock)
        self.conf = write_conf(workdir, f"{name}.conf", settings)
        self.logf = open(self.log, "ab")
        self.wrapper = wrapper()
        self.proc = subprocess.Popen(self.wrapper + [BIN, "-c", self.conf], stdout=self.logf,
                                     stderr=self.logf, env=child_env(env))
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                 60 if self.wrapper else 10, "the responder socket")
        if self.proc.poll() is not None:
            raise RuntimeError("responder exited: " + open(self.log).read()[-2000:])

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status. Scans the log once."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * (4 if self.wrapper else 1))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.logf.closed:
            self.logf.close()
        if not self.scanned:
            self.scanned = True
            found = scan_findings(self.log_text(), f"responder {self.name}")
            scan_secrets(self.log_text(), f"responder {self.name}", self.settings)
            m = re.search(r"--error-exitcode=(\d+)", " ".join(self.wrapper))
            if not found and m and self.proc.returncode == int(m.group(1)):
                FINDINGS.append((f"responder {self.name}",
                                 f"{self.wrapper[0]} exit status {m.group(1)}"))
        return self.proc.returncode

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def log_lines_with(self, text):
        """The log lines that contain text."""
        return [line for line in self.log_text().splitlines() if text in line]

    def refusals_warned(self, refusal, text):
        """Each refusal is one warning line, and it says text: the lines that contain
        text are the lines of the refusal ("<route>: <status>: ...")."""
        lines = self.log_lines_with(text)
        return (bool(lines) and lines == self.log_lines_with(f"msg=\"{refusal}: ") and
                all(" level=warn " in x for x in lines))

    def pid(self):
        """The responder's pid (the wrapper's, which is the same process under valgrind)."""
        return self.proc.pid


def cert_params(certs, kind):
    """FastCGI params a web server would pass for a client certificate kind."""
    if kind == "none":
        return {}
    if kind == "unverified":
        return {"SSL_CLIENT_VERIFY": "FAILED:unable to get local issuer certificate"}
    if kind == "noverify":
        pem = open(os.path.join(certs, "client.pem")).read()
        return {"SSL_CLIENT_CERT": urllib.parse.quote(pem, safe="")}
    if kind == "fingerprint":
        return {"SSL_CLIENT_VERIFY": "SUCCESS",
                "SSL_CLIENT_FINGERPRINT": thumbprints(certs)["client"]}
    if kind == "client-plain":
        pem = open(os.path.join(certs, "client.pem")).read()
        return {"SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": pem}
    pem = open(os.path.join(certs, f"{kind}.pem")).read()
    return {"SSL_CLIENT_VERIFY": "SUCCESS", "SSL_CLIENT_CERT": urllib.parse.quote(pem, safe="")}


class Reply:
    def __init__(self, raw, elapsed):
        self.raw = raw
        self.elapsed = elapsed
        head, _, body = raw.partition(b"\r\n\r\n")
        self.headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k:
                self.headers[k.strip().lower()] = v.strip()
        self.status = int(self.headers.get("status", "200").split()[0]) if raw else 0
        self.body = body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def fcgi_env(method, path, params=None, body=b"", content_type="application/json"):
    env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": method, "REQUEST_URI": path,
           "DOCUMENT_URI": path.split("?")[0], "SERVER_PROTOCOL": "HTTP/1.1",
           "GATEWAY_INTERFACE": "CGI/1.1", "CONTENT_LENGTH": str(len(body))}
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    for k, v in (params or {}).items():
        if v is None:  # None leaves the param out altogether
            env.pop(k, None)
        else:
            env[k] = v
    return env


def fcgi_start(sock, method, path, params=None, body=b"", content_type="application/json"):
    """Start one request through cgi-fcgi; returns the Popen (stdout = raw reply)."""
    if isinstance(body, str):
        body = body.encode()
    env = fcgi_env(method, path, params, body, content_type)
    p = subprocess.Popen(["cgi-fcgi", "-bind", "-connect", sock], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.started = time.monotonic()

    def feed():
        # The responder may answer (413) without reading a large body.
        try:
            p.stdin.write(body)
            p.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass
    p.feeder = threading.Thread(target=feed, daemon=True)
    p.feeder.start()
    return p


def fcgi_finish(p, timeout=60):
    out = p.stdout.read()
    p.wait(timeout)
    return Reply(out, time.monotonic() - p.started)


def fcgi(sock, method, path, params=None, body=b"", content_type="application/json"):
    return fcgi_finish(fcgi_start(sock, method, path, params, body, content_type))


# ---- a minimal FastCGI client (FastCGI 1.0 specification, responder role) ----

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def _fcgi_record(rtype, content, req_id=1):
    return struct.pack(">BBHHBx", 1, rtype, req_id, len(content), 0) + content


def _fcgi_len(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _fcgi_params(env):
    data = b"".join(_fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v
                    for k, v in ((k.encode(), v.encode("utf-8", "surrogateescape"))
                                 for k, v in env.items()))
    out = b""
    for i in range(0, len(data), 65535):
        out += _fcgi_record(FCGI_PARAMS, data[i:i + 65535])
    return out + _fcgi_record(FCGI_PARAMS, b"")


def fcgi_records(s):
    """Yield (type, request id, content) of each FastCGI record read from socket s,
    until EOF. Errors of recv reach the caller."""
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 8:
            _, rtype, rid, clen, plen = struct.unpack(">BBHHB", buf[:7])
            if len(buf) < 8 + clen + plen:
                break
            yield rtype, rid, buf[8:8 + clen]
            buf = buf[8 + clen + plen:]


def unix_connect(path, timeout):
    """A connection to the Unix socket at path, with timeout. Such a connect fails with
    EAGAIN while the listener's backlog is full instead of waiting: it is tried again until
    the timeout has passed."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def fcgi_raw(sock, method, path, params=None, body=b"", content_type="application/json",
             timeout=60):
    """One request over our own FastCGI client: params exactly as given (None
    removes one, so a body can go without CONTENT_LENGTH), body streamed in
    records of up to 64 KiB. Returns a Reply like fcgi()."""
    if isinstance(body, str):
        body = body.encode()
    env = fcgi_env(method, path, params, body, content_type)
    env.pop("PATH", None)
    started = time.monotonic()
    s = unix_connect(sock, timeout)
    s.sendall(_fcgi_record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0)) + _fcgi_params(env))

    def feed():
        # The responder may answer (413) and close without reading it all.
        try:
            for i in range(0, len(body), 65535):
                s.sendall(_fcgi_record(FCGI_STDIN, body[i:i + 65535]))
            s.sendall(_fcgi_record(FCGI_STDIN, b""))
        except OSError:
            pass
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = b""
    try:
        for rtype, _, content in fcgi_records(s):
            if rtype == FCGI_STDOUT:
                out += content
            if rtype == FCGI_END:
                break
    except ConnectionResetError:
        pass
    finally:
        s.close()
    feeder.join(5)
    return Reply(out, time.monotonic() - started)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tempdir():
    return tempfile.mkdtemp(prefix="b2c-authy-e2e-")


def remove_tempdir(work):
    """Remove a suite's work directory, or keep it (and say where) with KEEP_E2E=1."""
    if os.environ.get("KEEP_E2E"):
        print("kept", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
