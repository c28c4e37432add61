"""stack.py - start and drive the pieces of an end-to-end test of b2c-authy.

Test PKI (scripts/gen-test-certs.sh), the mock Authy API over TLS, the real
responder binary on a Unix socket, and FastCGI requests through cgi-fcgi
(Debian libfcgi-bin). Python 3 standard library only. Every process started
here is stopped by Stack.close().
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.environ.get("B2C_AUTHY_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("B2C_AUTHY_BIN") or os.path.join(ROOT, "cgi-bin", "b2c-authy.fcgi")
API_KEY = "e2e-secret-api-key-0123456789"


class Counter:
    """Counts checks and prints the closing "N passed, N failed" line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok {what}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {what} {detail}", flush=True)
        return cond

    def summary(self):
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
        self.sock = os.path.join(workdir, f"{name}.sock")
        self.conf = os.path.join(workdir, f"{name}.conf")
        self.log = os.path.join(workdir, f"{name}.log")
        settings = dict(settings)
        settings.setdefault("listen", self.sock)
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        os.chmod(self.conf, 0o600)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.conf], stdout=self.logf,
                                     stderr=self.logf, env=env or {"PATH": "/usr/bin:/bin"})
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 10,
                 "the responder socket")
        if self.proc.poll() is not None:
            raise RuntimeError("responder exited: " + open(self.log).read()[-2000:])

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


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
    env.update(params or {})
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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tempdir():
    return tempfile.mkdtemp(prefix="b2c-authy-e2e-")
