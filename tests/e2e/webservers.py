"""webservers.py - b2c-authy behind a real nginx, Apache or lighttpd, driven by curl.

Renders the shipped nginx/b2c-authy.conf, apache/b2c-authy.conf or
lighttpd/b2c-authy.conf (their default
paths and ports replaced by the test ones), wraps it in a minimal main config
for a private instance under a temporary directory, starts the responder with
spawn-fcgi, the mock Authy API as its upstream, and calls the endpoints with
curl and the test certificates as Azure AD B2C would.

    python3 webservers.py nginx|apache|lighttpd

Ends with "N passed, N failed"; skips ("0 passed, 0 failed") when the web
server, spawn-fcgi, curl or the responder binary is missing. Every process it
starts is stopped on the way out. KEEP_E2E=1 keeps the temporary directory.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import stack  # noqa: E402
import e2e  # noqa: E402  (the user messages, read from src/b2c/b2c.h)

BUDGET_MS = 10000
POLL_MS = 200
B2C_TIMEOUT_MS = 30000  # B2C gives up on a REST call after 30 s
REGISTER = "/api/identity/register"
WAIT = "/api/identity/waitforauthyapproval"
VERIFY_TOKEN = "/api/identity/verifytoken"
IS_ROOT = os.geteuid() == 0
WEB_USER = "www-data"

# Default paths in the shipped configuration files, replaced when rendering.
TLS = "/etc/b2c-authy/tls/"
SOCKET = "/run/b2c-authy/b2c-authy.sock"


def which(name):
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None)


def render(src, dst, subs):
    """Copy src to dst replacing each (old, new); every old must occur in src."""
    with open(src) as f:
        text = f.read()
    for old, new in subs:
        if old not in text:
            raise RuntimeError(f"{src}: {old!r} not found (update {__file__})")
        text = text.replace(old, new)
    with open(dst, "w") as f:
        f.write(text)


def max_wait_budget_ms():
    """The upper bound of wait_budget_ms in the responder's parse table."""
    text = open(os.path.join(stack.ROOT, "src", "util", "config.c")).read()
    m = re.search(r'\{"wait_budget_ms",\s*KT_INT,\s*(\d+),\s*(\d+)', text)
    return int(m.group(2)) if m else None


class SpawnedResponder:
    """The responder started by spawn-fcgi on a Unix socket (inherited fd 0)."""

    def __init__(self, workdir, settings, sock, name="responder"):
        self.settings = dict(settings)
        self.sock = sock
        self.log = os.path.join(workdir, f"{name}.log")
        self.conf = stack.write_conf(workdir, f"{name}.conf", settings)
        cmd = [which("spawn-fcgi"), "-n", "-s", sock, "-M", "0660"]
        if IS_ROOT:
            cmd += ["-G", WEB_USER]  # the web server's workers connect as www-data
        cmd += ["--", stack.BIN, "-c", self.conf]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
        self.wait_ready()

    def wait_ready(self):
        def up():
            if self.proc.poll() is not None:
                return True
            if not os.path.exists(self.sock):
                return False
            return stack.fcgi(self.sock, "GET", "/healthz", {}, b"", None).status == 200
        stack.wait_for(up, 10, "the responder")
        if self.proc.poll() is not None:
            raise RuntimeError("responder exited: " + self.log_text()[-2000:])

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.logf.closed:
            self.logf.close()
            stack.scan_findings(self.log_text(), "spawn-fcgi responder")
            stack.scan_secrets(self.log_text(), "spawn-fcgi responder", self.settings)
        return self.proc.returncode

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class WebServer:
    """Common part of the private nginx and Apache instances."""
    kind = "?"

    def __init__(self, workdir, certs, sock):
        self.dir = os.path.join(workdir, self.kind)
        os.makedirs(self.dir)
        self.certs = certs
        self.sock = sock
        self.port = stack.free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        # The callback server is chosen by SNI: a name the test certificate has.
        self.callback_base = f"https://localhost:{self.port}"
        self.callback_url = self.callback_base + "/api/authy/callback"
        # curl's arguments that send the callback host's name to this port.
        self.resolve = ["--resolve", f"localhost:{self.port}:127.0.0.1"]
        self.proc = None
        self.error_log = os.path.join(self.dir, "error.log")

    def tls_subs(self):
        return [(TLS + "server.pem", os.path.join(self.certs, "server.pem")),
                (TLS + "server.key", os.path.join(self.certs, "server.key")),
                (TLS + "client-ca.pem", os.path.join(self.certs, "ca.pem")),
                (SOCKET, self.sock)]

    def check_config(self):
        """Run the server's syntax check; returns (ok, output)."""
        p = subprocess.run(self.test_cmd(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        return p.returncode == 0, p.stdout

    def start(self):
        self.logf = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(self.run_cmd(), stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        stack.wait_for(lambda: self.listening() or self.proc.poll() is not None, 15,
                       f"{self.kind} to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} exited: " + self.errors())

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.logf.close()

    def errors(self):
        out = ""
        for name in (self.error_log, os.path.join(self.dir, "stderr.log")):
            if os.path.exists(name):
                out += open(name, errors="replace").read()[-2000:]
        return out


class Nginx(WebServer):
    kind = "nginx"
    shipped = os.path.join(stack.ROOT, "nginx", "b2c-authy.conf")

    def __init__(self, workdir, certs, sock):
        super().__init__(workdir, certs, sock)
        self.health_port = stack.free_port()
        self.health_url = f"http://127.0.0.1:{self.health_port}"
        site = os.path.join(self.dir, "b2c-authy.conf")
        render(self.shipped, site, self.tls_subs() + [
            ("listen 443 ssl", f"listen 127.0.0.1:{self.port} ssl"),
            ("server_name authy-callback.example.com;", "server_name localhost;"),
            ("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{self.health_port};")])
        # "include fastcgi_params" is relative to the main config's directory.
        shutil.copy("/etc/nginx/fastcgi_params", self.dir)
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(tmp)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private nginx instance for the b2c-authy tests
{f"user {WEB_USER} {WEB_USER};" if IS_ROOT else ""}
worker_processes 2;
pid {self.dir}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 512; }}
http {{
	access_log {self.dir}/access.log;
	client_body_temp_path {tmp}/body;
	fastcgi_temp_path {tmp}/fastcgi;
	proxy_temp_path {tmp}/proxy;
	uwsgi_temp_path {tmp}/uwsgi;
	scgi_temp_path {tmp}/scgi;
	include {site};
}}
""")

    def base_cmd(self):
        return [which("nginx"), "-p", self.dir, "-e", self.error_log, "-c", self.conf]

    def test_cmd(self):
        return self.base_cmd() + ["-t"]

    def run_cmd(self):
        return self.base_cmd() + ["-g", "daemon off;"]


APACHE_MODULES = ["mpm_event", "authz_core", "authz_host", "ssl", "socache_shmcb", "proxy",
                  "proxy_fcgi", "headers", "alias", "unique_id"]


class Apache(WebServer):
    kind = "apache"
    shipped = os.path.join(stack.ROOT, "apache", "b2c-authy.conf")

    def __init__(self, workdir, certs, sock):
        super().__init__(workdir, certs, sock)
        self.health_url = None
        site = os.path.join(self.dir, "b2c-authy.conf")
        render(self.shipped, site, self.tls_subs() + [
            ("<VirtualHost *:443>", f"<VirtualHost 127.0.0.1:{self.port}>"),
            ("ServerName authy-callback.example.com", "ServerName localhost")])
        run = os.path.join(self.dir, "run")
        os.makedirs(run)
        if IS_ROOT:
            shutil.chown(run, WEB_USER, WEB_USER)
        mods = "\n".join(f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so"
                         for m in APACHE_MODULES)
        self.conf = os.path.join(self.dir, "httpd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private Apache instance for the b2c-authy tests
ServerRoot {self.dir}
ServerName localhost
Listen 127.0.0.1:{self.port}
PidFile {self.dir}/httpd.pid
DefaultRuntimeDir {run}
ErrorLog {self.error_log}
LogLevel info ssl:warn proxy_fcgi:debug
{mods}
{f"User {WEB_USER}" if IS_ROOT else ""}
{f"Group {WEB_USER}" if IS_ROOT else ""}
LogFormat "%h %l %u %t \\"%r\\" %>s %b %D" timing
CustomLog {self.dir}/access.log timing
SSLSessionCache shmcb:{run}/ssl_scache(512000)
Timeout 60
Include {site}
""")

    def base_cmd(self):
        return [which("apache2"), "-f", self.conf]

    def test_cmd(self):
        return self.base_cmd() + ["-t"]

    def run_cmd(self):
        return self.base_cmd() + ["-DFOREGROUND"]


class Lighttpd(WebServer):
    """lighttpd with mod_openssl and mod_fastcgi; it has no callback host (Authy
    presents no client certificate) and no plain monitoring listener."""
    kind = "lighttpd"
    shipped = os.path.join(stack.ROOT, "lighttpd", "b2c-authy.conf")

    def __init__(self, workdir, certs, sock):
        super().__init__(workdir, certs, sock)
        self.health_url = None
        self.callback_url = None
        site = os.path.join(self.dir, "b2c-authy.conf")
        render(self.shipped, site, self.tls_subs() + [
            ('$SERVER["socket"] == ":443"', f'$SERVER["socket"] == "127.0.0.1:{self.port}"')])
        docroot = os.path.join(self.dir, "htdocs")
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(docroot)
        os.makedirs(tmp)
        if IS_ROOT:  # lighttpd opens its error log after dropping privileges
            for d in (self.dir, tmp):
                shutil.chown(d, WEB_USER, WEB_USER)
        self.conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private lighttpd instance for the b2c-authy tests
server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {self.port}
server.pid-file = "{self.dir}/lighttpd.pid"
server.errorlog = "{self.error_log}"
server.upload-dirs = ( "{tmp}" )
{f'server.username = "{WEB_USER}"' if IS_ROOT else ""}
{f'server.groupname = "{WEB_USER}"' if IS_ROOT else ""}
include "{site}"
""")

    def base_cmd(self):
        return [which("lighttpd"), "-f", self.conf]

    def test_cmd(self):
        return self.base_cmd() + ["-tt"]

    def run_cmd(self):
        return self.base_cmd() + ["-D"]


class Curl:
    """curl as B2C would call: TLS with the test CA and a client certificate."""

    def __init__(self, workdir, certs):
        self.workdir = os.path.join(workdir, "curl")
        os.makedirs(self.workdir)
        self.certs = certs
        self.n = 0
        self.lock = threading.Lock()

    def args(self, url, cert="client", body=None, method=None, timeout=40, extra=()):
        with self.lock:
            self.n += 1
            n = self.n
        hdr = os.path.join(self.workdir, f"curl-{n}.hdr")
        out = os.path.join(self.workdir, f"curl-{n}.body")
        cmd = ["curl", "-sS", "--max-time", str(timeout), "-D", hdr, "-o", out,
               "-w", "%{http_code}", "--cacert", os.path.join(self.certs, "ca.pem")]
        if cert:
            cmd += ["--cert", os.path.join(self.certs, f"{cert}.pem"),
                    "--key", os.path.join(self.certs, f"{cert}.key")]
        if body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            cmd += ["-H", "Content-Type: application/json", "--data-binary", data]
        if method:
            cmd += ["-X", method]
        cmd += list(extra) + [url]
        return cmd, hdr, out

    def start(self, url, **kw):
        cmd, hdr, out = self.args(url, **kw)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.files = (hdr, out)
        p.started = time.monotonic()
        return p

    def finish(self, p):
        code, err = p.communicate()
        return CurlReply(p.returncode, code, err, *p.files, time.monotonic() - p.started)

    def __call__(self, url, **kw):
        return self.finish(self.start(url, **kw))


class CurlReply:
    def __init__(self, rc, code, err, hdr, out, elapsed):
        self.rc = rc
        self.status = int(code) if code.strip().isdigit() else 0
        self.err = err.strip()
        self.elapsed = elapsed
        self.headers = {}
        if os.path.exists(hdr):
            for line in open(hdr, encoding="latin-1"):
                k, _, v = line.partition(":")
                if v:
                    self.headers[k.strip().lower()] = v.strip()
        self.body = open(out, "rb").read() if os.path.exists(out) else b""
        try:
            self.json = json.loads(self.body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<curl rc={self.rc} {self.status} {self.body[:200]!r} {self.err[:200]!r}>"


def b2c_error(r, status, msg=None):
    """r is a B2C-shaped JSON error with that status (and message)."""
    j = r.json if isinstance(r.json, dict) else {}
    return (r.status == status and j.get("version") == "1.0.0" and j.get("status") == status
            and isinstance(j.get("userMessage"), str) and (msg is None or j["userMessage"] == msg)
            and r.headers.get("content-type", "").startswith("application/json"))


class Run:
    """One suite run: the mock, the responder, the web server and the checks."""

    def __init__(self, kind, t, work):
        self.kind = kind
        self.t = t
        self.work = work
        self.certs = stack.make_certs(work)
        self.tp = stack.thumbprints(self.certs)
        self.curl = Curl(work, self.certs)
        self.sock = os.path.join(work, "b2c-authy.sock")
        self.mock = None
        self.responder = None
        self.web = None
        self.phone = 0

    def settings(self):
        return {"authy_api_key": stack.API_KEY, "authy_api_url": self.mock.url,
                "authy_ca_file": os.path.join(self.certs, "ca.pem"),
                "client_cert_thumbprints": self.tp["client"],
                # RFC 2253 form, as docs/deployment.md shows it
                "client_cert_issuer": '"CN=b2c-authy test CA,O=b2c-authy test"',
                "wait_budget_ms": BUDGET_MS, "poll_interval_ms": POLL_MS,
                "approval_ttl_s": 60, "log_level": "info",
                "callback_url": self.web.callback_url or "https://localhost/api/authy/callback"}

    def setup(self):
        t = self.t
        cls = {"nginx": Nginx, "apache": Apache, "lighttpd": Lighttpd}[self.kind]
        self.web = cls(self.work, self.certs, self.sock)
        # The mock signs OneTouch callbacks and posts them through the web server.
        extra = []
        if self.web.callback_url:
            extra = ["--callback-url", self.web.callback_url, "--callback-deliver",
                     "--callback-ca", os.path.join(self.certs, "ca.pem")]
        self.mock = stack.Mock(self.work, self.certs, extra=extra)
        self.responder = SpawnedResponder(self.work, self.settings(), self.sock)
        st = os.stat(self.sock)
        t.check(st.st_mode & 0o777 == 0o660, "spawn-fcgi socket mode 0660", oct(st.st_mode))
        ok, out = self.web.check_config()
        t.check(ok, f"{self.kind} accepts the shipped configuration", out[-1500:])
        if not ok:
            raise RuntimeError(f"{self.kind} -t failed")
        self.web.start()

    def close(self):
        for part in (self.web, self.responder, self.mock):
            if part is None:
                continue
            try:
                part.stop() if hasattr(part, "stop") else part.close()
            except Exception as e:  # keep stopping the rest
                print(f"# stopping {part}: {e!r}")

    # ---- helpers ----

    def post(self, path, body, cert="client", **kw):
        return self.curl(self.web.url + path, cert=cert, body=body, **kw)

    def new_user(self, prefix):
        self.phone += 1
        phone = f"+1 415 555 {1000 + self.phone}"
        r = self.post(REGISTER, {"email": f"{prefix}+{self.phone}@example.com",
                                 "phoneNumber": phone})
        aid = (r.json or {}).get("authyId") if isinstance(r.json, dict) else None
        ok = r.status == 200 and re.fullmatch(r"[0-9]+", str(aid))
        self.t.check(ok, f"register {prefix} -> 200 authyId", repr(r))
        return str(aid) if ok else "0"

    def wait_body(self, aid, name="user"):
        return {"authyId": aid, "signInName": f"{name}@example.com", "correlationId": f"cid-{name}"}

    def polls(self, aid):
        reqs = self.mock.approvals(aid)
        uuids = [r.get("uuid") for r in reqs]
        return sum(1 for r in self.mock.requests()
                   if r.get("method") == "GET" and any(u and u in r.get("path", "") for u in uuids))

    # ---- checks ----

    def check_timeout_setting(self):
        """The web server's read timeout stays above every budget the responder accepts,
        and no longer than B2C waits for a call (30 s)."""
        text = open(self.web.shipped).read()
        if self.kind == "nginx":
            m = re.search(r"^\s*fastcgi_read_timeout\s+(\d+)s;", text, re.M)
        elif self.kind == "lighttpd":
            m = re.search(r'^\s*"read-timeout" => (\d+),', text, re.M)
        else:
            m = re.search(r"^\s*ProxyTimeout\s+(\d+)\s*$", text, re.M)
        budget = max_wait_budget_ms()
        self.t.check(m and budget and budget + 1000 <= int(m.group(1)) * 1000 <= B2C_TIMEOUT_MS,
                     f"read timeout above the largest wait budget ({budget} ms), at most "
                     f"B2C's {B2C_TIMEOUT_MS} ms", m.group(0) if m else "no timeout setting")

    def check_flow(self):
        t = self.t
        aid = self.new_user("autoapprove300")
        r = self.post(WAIT, self.wait_body(aid, "alice"))
        t.check(r.status == 200 and r.json == {"authyApproved": True}, "allowed certificate: wait -> approved 200 authyApproved",
                repr(r))
        t.check(r.headers.get("content-type", "").startswith("application/json"),
                "200 reply is application/json", repr(r.headers))
        code = self.mock.call("GET", f"/_mock/users/{aid}/token")["token"]
        stack.ONE_TIME_CODES.add(code)
        r = self.post(VERIFY_TOKEN, {"authyId": aid, "token": code, "correlationId": "cid-code"})
        t.check(r.status == 200 and r.json == {"authyApproved": True},
                "verifytoken passed on by the web server -> 200 authyApproved", repr(r))
        rid = r.headers.get("x-request-id", "")
        if self.kind == "nginx":
            t.check(re.fullmatch(r"[0-9a-f]{32}", rid) and f"rid={rid} " in
                    self.responder.log_text(), "nginx $request_id in the responder's log", rid)
        elif self.kind == "lighttpd":
            # lighttpd makes no request id and drops the caller's: the responder makes its own.
            t.check(re.search(rf"rid=\S+ .*authy_id={aid} correlation_id=\S+ outcome=approved",
                              self.responder.log_text()),
                    "the responder logs the call with a request id of its own")
            seen = self.responder.log_text().count('path="/healthz"')
            r = self.curl(self.web.url + "/healthz", extra=["-H", "X-Request-Id: chosen-by-caller",
                                                            "-H", "X_Request_Id: chosen-by-caller"])
            end = time.monotonic() + 5  # the access line follows the reply
            while self.responder.log_text().count('path="/healthz"') == seen and \
                    time.monotonic() < end:
                time.sleep(0.05)
            t.check(r.status == 200 and
                    self.responder.log_text().count('path="/healthz"') > seen and
                    "chosen-by-caller" not in self.responder.log_text(),
                    "a caller's X-Request-Id is not taken as the request id", repr(r))
        else:
            # mod_unique_id ids are base64 with '@' or '_' and '-': all taken as they are.
            ids = [rid] + [self.curl(self.web.url + "/healthz").headers.get("x-request-id", "")
                           for _ in range(4)]
            ok = [i for i in ids if re.fullmatch(r"[A-Za-z0-9_@-]{20,}", i)]
            log = self.responder.log_text()
            t.check(ok and all(f"rid={i} " in log for i in ok),
                    "Apache UNIQUE_ID in the responder's log", repr(ids))

    def hosts(self, path):
        """(name, URL, client certificate, curl arguments) of path on the B2C host and, when the
        site has one, of the callback host, which takes no client certificate."""
        calls = [("B2C host", self.web.url + path, "client", [])]
        if self.web.callback_url:
            calls.append(("callback host", self.web.callback_url, None, self.web.resolve))
        return calls

    def check_caller_request_id(self):
        """A caller's X-Request-Id never becomes the request id: the web server's own id
        (nginx $request_id, Apache UNIQUE_ID) does, or the responder's. The responder's error
        body carries the id it used (requestId)."""
        t = self.t
        # X_Request_Id: lighttpd passes it as HTTP_X_REQUEST_ID, the name X-Request-Id
        # has, also when the site drops X-Request-Id.
        chosen = ["-H", "X-Request-Id: chosen-by-caller", "-H", "X_Request_Id: chosen-by-caller"]
        for where, url, cert, extra in self.hosts(REGISTER):
            r = self.curl(url, cert=cert, body={}, extra=chosen + extra)
            rid = (r.json or {}).get("requestId", "") if isinstance(r.json, dict) else ""
            sent = r.headers.get("x-request-id")
            t.check(r.status in (401, 409) and rid not in ("", "chosen-by-caller") and
                    self.access_line(url.split(str(self.web.port), 1)[1], "register" if cert
                                     else "callback", r.status),
                    f"{where}: the responder answers with an id the caller did not choose",
                    repr(r))
            if self.kind == "lighttpd":
                t.check(sent is None, f"{where}: lighttpd returns no X-Request-Id", repr(sent))
            else:
                t.check(sent == rid, f"{where}: {self.kind} returns the id the responder used",
                        f"{sent!r} {rid!r}")

    def check_refused_certs(self):
        t = self.t
        before = len(self.mock.requests())
        body = {"email": "autoapprove+x@example.com", "phoneNumber": "+1 415 555 0199"}
        for cert, what, nginx_text, alert in [
                (None, "no certificate", "No required SSL certificate",
                 "alert certificate required"),
                ("client-other", "certificate from another CA", "The SSL certificate error",
                 "alert unknown ca"),
                ("client-expired", "expired certificate", "The SSL certificate error",
                 "alert certificate expired")]:
            r = self.post(REGISTER, body, cert=cert)
            if self.kind == "nginx":
                t.check(r.status == 400 and nginx_text.encode() in r.body,
                        f"{what}: nginx 400 {nginx_text!r}", repr(r))
            else:
                # mod_ssl and lighttpd fail the handshake; with TLS 1.3 curl sees the alert on
                # its first read (exit 56), with TLS 1.2 in the handshake (35).
                t.check(r.status == 0 and r.rc in (35, 56) and alert in r.err,
                        f"{what}: {self.kind} fails the TLS handshake ({alert})", repr(r))
        r = self.curl(self.web.url + "/healthz", extra=["--tlsv1.2", "--tls-max", "1.2"])
        t.check(r.status == 200, "TLS 1.2 with the allowed certificate works", repr(r))
        t.check(len(self.mock.requests()) == before, "refused certificates never reach Authy")
        r = self.post(REGISTER, body, cert="client2")
        t.check(b2c_error(r, 403, e2e.MSG["B2C_MSG_FORBIDDEN"]),
                "valid CA but not allow-listed: 403 JSON from the responder", repr(r))
        t.check(len(self.mock.requests()) == before, "the 403 never reaches Authy")

    def check_tls_suites(self):
        """Both hosts speak TLS 1.2 only with forward-secret AEAD suites, and never TLS 1.1.

        The refusals are the server's: curl reports the server's alert, not a local error."""
        t = self.t
        tls12 = ["--tlsv1.2", "--tls-max", "1.2", "--ciphers"]
        for where, url, cert, extra in self.hosts("/healthz"):
            r = self.curl(url, cert=cert, extra=extra + tls12 + ["ECDHE-RSA-AES128-GCM-SHA256"])
            t.check(r.status != 0, f"{where}: TLS 1.2 with ECDHE AES-GCM, as B2C offers, works",
                    repr(r))
            for suite, what in [("AES128-GCM-SHA256", "RSA key exchange, no forward secrecy"),
                                ("ECDHE-RSA-AES128-SHA", "CBC with SHA-1")]:
                r = self.curl(url, cert=cert, extra=extra + tls12 + [suite])
                t.check(r.status == 0 and r.rc == 35 and "handshake failure" in r.err,
                        f"{where}: {self.kind} refuses TLS 1.2 {suite} ({what})", repr(r))
            r = self.curl(url, cert=cert, extra=extra + ["--tlsv1.1", "--tls-max", "1.1",
                                                         "--ciphers", "DEFAULT@SECLEVEL=0"])
            t.check(r.status == 0 and r.rc == 35 and "protocol version" in r.err,
                    f"{where}: {self.kind} refuses TLS 1.1", repr(r))

    def check_routing(self):
        t = self.t
        u = self.web.url
        r = self.curl(u + "/index.html")
        t.check(b2c_error(r, 404), "unknown path: 404 JSON", repr(r))
        t.check(r.headers.get("content-type", "").startswith("application/json"),
                "404 is application/json", repr(r.headers))
        r = self.curl(u + REGISTER + "/x", body={})
        t.check(b2c_error(r, 404), "endpoint prefix is not an endpoint: 404 JSON", repr(r))
        r = self.curl(u + REGISTER)
        t.check(b2c_error(r, 405), "GET on an endpoint: 405 JSON from the responder", repr(r))
        big = json.dumps({"email": "a@example.com", "pad": "x" * 70000})
        if self.kind == "lighttpd":  # lighttpd's own page (the snippet says so)
            # Over HTTP/2 lighttpd resets the stream (curl exit 92) instead.
            r = self.post(REGISTER, big, extra=["--http1.1"])
            t.check(r.status == 413, "body over 64 KiB: 413 from lighttpd", repr(r))
        else:
            r = self.post(REGISTER, big)
            t.check(b2c_error(r, 413), "body over 64 KiB: 413 JSON", repr(r))

    def access_count(self, path, route, status):
        """How many access lines of the responder show that path, route and status."""
        return self.responder.log_text().count(f'path="{path}" route={route} status={status} ')

    def access_line(self, path, route, status, seen=0):
        """Wait for the responder's access line of a call beyond the seen ones: the path it
        routed on (DOCUMENT_URI, else SCRIPT_NAME and PATH_INFO, else REQUEST_URI), the route
        it matched and the status."""
        line = f'path="{path}" route={route} status={status} '
        try:
            stack.wait_for(lambda: self.access_count(path, route, status) > seen, 5, line)
            return True
        except RuntimeError:
            return False

    def check_path_variants(self):
        """A tenant's ServiceUrl may differ in case or end in '/': the web server passes such
        paths on, and the responder routes them. Other paths stay 404."""
        t = self.t
        for path in (REGISTER.upper(), "/Api/Identity/Register/"):
            self.phone += 1
            r = self.post(path, {"email": f"case+{self.phone}@example.com",
                                 "phoneNumber": f"+1 415 555 {1000 + self.phone}"})
            aid = r.json.get("authyId") if isinstance(r.json, dict) else None
            t.check(r.status == 200 and re.fullmatch(r"[0-9]+", str(aid)) and
                    self.access_line(path, "register", 200),
                    f"{path}: registered by the responder", repr(r))
        aid = self.new_user("autoapprove200")
        path = WAIT.replace("waitfor", "WaitFor") + "/"
        r = self.post(path, self.wait_body(aid, "slash"))
        t.check(r.status == 200 and r.json == {"authyApproved": True} and
                self.access_line(path, "wait", 200), f"{path}: approved 200", repr(r))
        path = VERIFY_TOKEN.upper() + "/"
        r = self.post(path, {"authyId": aid, "token": "12", "correlationId": "cid-slash"})
        t.check(b2c_error(r, 409) and self.access_line(path, "verifytoken", 409),
                f"{path}: the responder's 409 for a bad code", repr(r))
        # The path the responder routes on is the one the web server decoded, with '//'
        # merged and dot segments removed: nginx's $document_uri and Apache's DOCUMENT_URI
        # (both from the path they matched), lighttpd's SCRIPT_NAME and PATH_INFO. The
        # raw REQUEST_URI of these would get the responder's 404.
        for path in ("/" + REGISTER, REGISTER.replace("/identity", "//identity"),
                     REGISTER.replace("/reg", "/%72eg"), "/api/x/.." + REGISTER[4:],
                     "/api/identity/%2E/register", REGISTER + "%2F"):
            self.phone += 1
            routed = REGISTER + "/" if path.endswith("%2F") else REGISTER
            seen = self.access_count(routed, "register", 200)
            r = self.post(path, {"email": f"case+{self.phone}@example.com",
                                 "phoneNumber": f"+1 415 555 {1000 + self.phone}"},
                          extra=["--path-as-is"])
            t.check(r.status == 200 and self.access_line(routed, "register", 200, seen),
                    f"{path}: passed on as {routed}, registered", repr(r))
        for path in (REGISTER + "//x", REGISTER + "x", REGISTER + "%0A", REGISTER + "%3F",
                     "/api/identity/register%2Fx", "/api/Identity2/register"):
            body = {"email": "a@example.com", "phoneNumber": "+1 415 555 0100"}
            if self.kind == "lighttpd" and path.endswith("%0A"):
                # lighttpd refuses a control character in the path itself; over HTTP/2 it
                # may reset the stream instead.
                r = self.post(path, body, extra=["--http1.1"])
                t.check(r.status == 400, f"{path}: 400 from lighttpd", repr(r))
            else:
                r = self.post(path, body)
                t.check(b2c_error(r, 404), f"{path}: 404 JSON", repr(r))

    def check_health(self):
        t = self.t
        u = self.web.url
        r = self.curl(u + "/healthz")
        t.check(r.status == 200, "/healthz from 127.0.0.1 with a client certificate: 200", repr(r))
        r = self.curl(u + "/metrics")
        t.check(r.status == 200 and b"# TYPE" in r.body, "/metrics from 127.0.0.1: Prometheus text",
                repr(r))
        # lighttpd answers with its own 403 page (the snippet says so).
        denied = (lambda r: r.status == 403) if self.kind == "lighttpd" else (
            lambda r: b2c_error(r, 403))
        for path in ("/healthz", "/metrics"):
            r = self.curl(u + path, extra=["--interface", "127.0.0.2"])
            t.check(denied(r), f"{path} from another address: 403", repr(r))
        # The responder matches paths case-insensitively and with a trailing '/'; the web
        # server may decode, merge '//' and remove dot segments before it matches.
        for path in ("/HEALTHZ", "/metrics/", "//healthz", "/%6Detrics", "/x/../metrics",
                     "/x/%2E%2E/healthz", "/x/..%2Fmetrics", "/healthz%2F", "/./MeTrIcS",
                     "/%2e/healthz", "//%2Fmetrics", "/%48ealthz/", "/metrics%3F",
                     "/healthz%23"):
            r = self.curl(u + path, extra=["--interface", "127.0.0.2", "--path-as-is"])
            t.check(r.status in (403, 404) and b"# TYPE" not in r.body,
                    f"{path} from another address: not served", repr(r))
        r = self.curl(u + "/healthz", cert=None)
        t.check(r.status in (0, 400), "/healthz on the mTLS host needs a client certificate",
                repr(r))
        if self.web.health_url:
            h = self.web.health_url
            r = self.curl(h + "/healthz", cert=None)
            t.check(r.status == 200, "plain loopback listener: /healthz 200", repr(r))
            r = self.curl(h + "/metrics", cert=None)
            t.check(r.status == 200 and b"# TYPE" in r.body, "plain loopback listener: /metrics",
                    repr(r))
            r = self.curl(h + REGISTER, cert=None, body={})
            t.check(b2c_error(r, 404), "plain loopback listener: no B2C endpoints", repr(r))

    def check_callback(self):
        """Authy's signed callback reaches the responder without a client certificate."""
        t = self.t
        resolve = self.web.resolve
        aid = self.new_user("never")
        p = self.curl.start(self.web.url + WAIT, body=self.wait_body(aid, "callback"))
        stack.wait_for(lambda: self.mock.approvals(aid), 5, "the approval request")
        uuid = self.mock.approvals(aid)[0]["uuid"]
        self.mock.call("POST", f"/_mock/approval_requests/{uuid}/approve")
        r = self.curl.finish(p)
        t.check(r.status == 200 and r.json == {"authyApproved": True}, "approved while a callback is on its way: 200",
                repr(r))
        stack.wait_for(lambda: "route=callback status=200" in self.responder.log_text(), 5,
                       "the callback")
        mock_log = open(self.mock.log, errors="replace").read()
        t.check(f"callback {self.web.callback_url} -> 200" in mock_log,
                f"signed callback through {self.kind} (SNI name, no client certificate): 200",
                mock_log[-500:])
        r = self.curl(self.web.callback_url, cert=None, body={"uuid": uuid, "status": "denied"},
                      extra=resolve)
        t.check(b2c_error(r, 401), "unsigned callback: 401 JSON from the responder", repr(r))
        if self.kind == "apache":
            # mod_proxy_fcgi logs the backend URL it serves (LogLevel proxy_fcgi:debug).
            served = re.findall(r"AH01078: serving URL (\S+/callback\S*)",
                                open(self.web.error_log, errors="replace").read())
            t.check(served and set(served) == {"fcgi://localhost/api/authy/callback"},
                    "callback backend URL without the path appended twice", repr(served[:2]))
        r = self.curl(self.web.callback_base + REGISTER, cert=None, body={}, extra=resolve)
        t.check(b2c_error(r, 404), "callback host serves no B2C endpoint", repr(r))
        r = self.curl(self.web.callback_base + REGISTER, cert=None, body={},
                      extra=resolve + ["-H", "Host: b2c-authy.example.com"])
        t.check(r.status == 421, "SNI/Host mismatch: 421, the client certificate is not bypassed",
                repr(r))

    def check_outcomes(self):
        """Denial, expiry, timeout at the budget and a client abort, in parallel."""
        t = self.t
        deny, expire, never, abort = (self.new_user(p) for p in
                                      ("autodeny300", "autoexpire300", "never", "never"))
        # HTTP/1.1, as B2C calls: lighttpd passes an abort on over HTTP/2 only.
        started = {k: self.curl.start(self.web.url + WAIT, body=self.wait_body(a, k),
                                      extra=["--http1.1"])
                   for k, a in (("deny", deny), ("expire", expire), ("timeout", never),
                                ("abort", abort))}
        stack.wait_for(lambda: self.mock.approvals(abort), 5, "the approval request")
        time.sleep(1.0)
        started["abort"].kill()
        started["abort"].wait()
        killed = time.monotonic()
        r = self.curl.finish(started["deny"])
        t.check(b2c_error(r, 409, e2e.MSG["B2C_MSG_DENIED"]), "denied: 409 denied message",
                repr(r))
        r = self.curl.finish(started["expire"])
        t.check(b2c_error(r, 409, e2e.MSG["B2C_MSG_EXPIRED"]), "expired: 409 expired message",
                repr(r))
        self.check_abort(abort, killed)
        r = self.curl.finish(started["timeout"])
        t.check(b2c_error(r, 409, e2e.MSG["B2C_MSG_TIMEOUT"]),
                f"pending past the budget: 409 timeout message through {self.kind}", repr(r))
        t.check(BUDGET_MS / 1000 - 0.5 <= r.elapsed <= BUDGET_MS / 1000 + 2,
                "the wait ends at the budget, not cut by the web server", f"{r.elapsed:.2f}s")

    def outcome_of(self, aid):
        m = re.findall(rf"authy_id={aid} correlation_id=\S+ outcome=(\w+)",
                       self.responder.log_text())
        return m[-1] if m else None

    def check_abort(self, aid, killed):
        t = self.t
        stack.wait_for(lambda: self.outcome_of(aid) is not None or
                       time.monotonic() - killed > BUDGET_MS / 1000 + 2, BUDGET_MS / 1000 + 5,
                       "the aborted wait to end")
        outcome = self.outcome_of(aid)
        gone = time.monotonic() - killed
        if self.kind == "nginx":
            t.check(outcome == "aborted" and gone < 3,
                    f"client gone mid-wait: {self.kind} closes the FastCGI connection, "
                    "responder logs outcome=aborted", f"outcome={outcome} after {gone:.1f}s")
        else:
            # mod_proxy_fcgi, and lighttpd over HTTP/1.1, keep the backend
            # connection until the reply is complete: the responder only
            # finds out when it writes the reply (docs/deployment.md).
            t.check(outcome in ("timeout", "timed_out") and gone > 3,
                    f"client gone mid-wait: {self.kind} keeps the FastCGI connection, the "
                    "wait ends at the budget", f"outcome={outcome} after {gone:.1f}s")
        before = self.polls(aid)
        time.sleep(1.0)
        after = self.polls(aid)
        t.check(after == before, "no more polling of the abandoned approval",
                f"{before} -> {after}")

    def check_slow_and_drain(self):
        """slowapprove (8 s) -> 200 while the responder is asked to stop meanwhile."""
        t = self.t
        aid = self.new_user("slowapprove")
        p = self.curl.start(self.web.url + WAIT, body=self.wait_body(aid, "slow"))
        stack.wait_for(lambda: self.mock.approvals(aid), 5, "the approval request")
        time.sleep(1.0)
        self.responder.proc.send_signal(signal.SIGTERM)
        r = self.curl.finish(p)
        t.check(r.status == 200 and r.json == {"authyApproved": True} and r.elapsed > 6,
                "slow approval (8 s) -> 200, finished during a graceful stop", repr(r))
        try:
            rc = self.responder.proc.wait(BUDGET_MS / 1000 + 5)
        except subprocess.TimeoutExpired:
            rc = None
        t.check(rc == 0, "responder drained and exited 0 after SIGTERM", f"rc={rc}")
        r = self.post(REGISTER, {"email": "a@example.com", "phoneNumber": "+1 415 555 0100"})
        if self.kind == "lighttpd":
            t.check(r.status in (502, 503), "responder stopped: 502/503 from lighttpd", repr(r))
        else:
            t.check(b2c_error(r, 502) or b2c_error(r, 503),
                    "responder stopped: 502/503 JSON from the web server", repr(r))
        if self.web.health_url:
            r = self.curl(self.web.health_url + "/healthz", cert=None)
            t.check(b2c_error(r, 502), "responder stopped: the monitoring listener's /healthz "
                    "-> 502 JSON", repr(r))

    def check_systemd_units(self):
        """systemd-analyze verify on the shipped units (@PREFIX@ rendered)."""
        t = self.t
        sda = which("systemd-analyze")
        if sda is None:
            t.skip("systemd unit verification (systemd-analyze not found)")
            return
        d = os.path.join(self.work, "systemd")
        os.makedirs(os.path.join(d, "lib", "b2c-authy"))
        os.symlink(stack.BIN, os.path.join(d, "lib", "b2c-authy", "b2c-authy.fcgi"))
        units = []
        for name in ("b2c-authy.socket", "b2c-authy.service"):
            dst = os.path.join(d, name)
            src = os.path.join(stack.ROOT, "systemd", name)
            render(src, dst, [("@PREFIX@", d)] if "@PREFIX@" in open(src).read() else [])
            units.append(dst)
        p = subprocess.run([sda, "verify", "--man=no"] + units, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_TARGET": "console"})
        t.check(p.returncode == 0 and not p.stdout.strip(),
                "systemd-analyze verify: units clean", p.stdout[-1500:])
        text = open(units[1]).read()
        m = re.search(r"^TimeoutStopSec=(\d+)$", text, re.M)
        budget = max_wait_budget_ms()
        t.check(m and budget and int(m.group(1)) * 1000 > budget,
                "TimeoutStopSec above the largest wait budget", m.group(0) if m else "none")

    def check_socket_activation(self):
        """nginx -> a socket passed the systemd way (LISTEN_FDS, fd 3)."""
        t = self.t
        tool = which("systemd-socket-activate")
        if tool is None:
            t.skip("socket activation (systemd-socket-activate not found)")
            return
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        conf = stack.write_conf(self.work, "activated.conf", self.settings())
        log = open(os.path.join(self.work, "activated.log"), "ab")
        p = subprocess.Popen([tool, "-l", self.sock, "--", stack.BIN, "-c", conf],
                             stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             env={"PATH": "/usr/bin:/bin"})
        try:
            stack.wait_for(lambda: os.path.exists(self.sock) or p.poll() is not None, 10,
                           "the activation socket")
            # systemd would apply SocketGroup=www-data and SocketMode=0660.
            if IS_ROOT:
                shutil.chown(self.sock, group=WEB_USER)
            os.chmod(self.sock, 0o660)
            aid = self.new_user("autoapprove200")
            r = self.post(WAIT, self.wait_body(aid, "activated"))
            t.check(r.status == 200 and r.json == {"authyApproved": True},
                    "socket activation (fd 3): register and wait through nginx", repr(r))
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(BUDGET_MS / 1000 + 5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        t.check(p.returncode == 0, "socket-activated responder exits 0 on SIGTERM",
                f"rc={p.returncode}")


def missing(kind):
    need = {"nginx": ["nginx"], "apache": ["apache2"], "lighttpd": ["lighttpd"]}[kind] + [
        "spawn-fcgi", "curl", "cgi-fcgi"]
    for name in need:
        if which(name) is None:
            return f"{name} not installed"
    if not os.access(stack.BIN, os.X_OK):
        return f"{stack.BIN} not built (run make)"
    if kind == "apache" and not os.path.exists("/usr/lib/apache2/modules/mod_proxy_fcgi.so"):
        return "mod_proxy_fcgi not found in /usr/lib/apache2/modules"
    if IS_ROOT:
        try:
            pwd.getpwnam(WEB_USER)
        except KeyError:
            return f"user {WEB_USER} missing"
    return None


def main(kind):
    t = stack.Counter()
    why = missing(kind)
    if why:
        t.skip(why)
        return t.summary()
    e2e.load_messages()
    work = stack.tempdir()
    os.chmod(work, 0o711)  # the web server's workers reach the socket inside
    run = Run(kind, t, work)
    started = time.monotonic()
    try:
        run.setup()
        steps = [run.check_timeout_setting, run.check_flow, run.check_caller_request_id,
                 run.check_refused_certs, run.check_tls_suites, run.check_routing,
                 run.check_path_variants, run.check_health, run.check_callback, run.check_outcomes, run.check_slow_and_drain]
        if kind == "lighttpd":  # no callback host: Authy has no client certificate
            steps.remove(run.check_callback)
        if kind == "nginx":
            steps += [run.check_systemd_units, run.check_socket_activation]
        for step in steps:
            try:
                step()
            except Exception as e:  # a broken step is a failure, not a crash of the suite
                t.check(False, step.__name__, repr(e))
    except Exception as e:
        t.check(False, "setup", repr(e))
        if run.web is not None:
            print(run.web.errors())
    finally:
        run.close()
        if t.failed and run.responder is not None:
            print("# responder log (tail):")
            print(run.responder.log_text()[-3000:])
        if t.failed and run.web is not None:
            print(f"# {kind} error log (tail):")
            print(run.web.errors())
        stack.remove_tempdir(work)
    print(f"# {kind} suite took {time.monotonic() - started:.1f}s")
    return t.summary()


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("nginx", "apache", "lighttpd"):
        print("usage: webservers.py nginx|apache|lighttpd", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
