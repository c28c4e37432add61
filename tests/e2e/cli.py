"""cli.py - the responder as an operator meets it: --help, --version,
--check-config, refusal of bad configurations with exit status 2, the three
ways of getting a socket (own Unix socket with mode 0660, own TCP socket,
inherited from spawn-fcgi on fd 0 or from systemd on fd 3), and a prompt exit
on SIGTERM when idle. Ends with "N passed, N failed".
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import stack  # noqa: E402

BASE = {"authy_api_key": stack.API_KEY, "authy_api_url": "https://127.0.0.1:9",
        "client_cert_check": "false", "max_waits": "2"}


def run(args, env=None, timeout=10):
    r = subprocess.run([stack.BIN] + args, capture_output=True, text=True, timeout=timeout,
                       env=stack.child_env(env))
    stack.scan_findings(r.stderr, "b2c-authy " + " ".join(args))
    return r


def check_usage(t):
    r = run(["--help"])
    t.check(r.returncode == 0 and all(o in r.stdout for o in
            ("--config", "--check-config", "--syslog", "--version")), "--help lists options")
    r = run(["--version"])
    t.check(r.returncode == 0 and r.stdout.startswith("b2c-authy "), "--version", r.stdout)
    r = run(["--bogus"])
    t.check(r.returncode == 2, "unknown option -> exit 2", str(r.returncode))


def check_ownership(t, work):
    """Group-writable and foreign-owned configuration and key files are refused at start
    (exit 2) and by --check-config, with the file name and the mode or owner."""
    gw = stack.write_conf(work, "groupw.conf", BASE, mode=0o660)
    for args, what in ((["-t"], "--check-config"), ([], "start")):
        r = run(["-c", gw] + args)
        t.check(r.returncode == 2 and "groupw.conf: mode 0660 lets the group write it" in r.stderr,
                f"group-writable config refused at {what}", r.stderr)
    keyfile = os.path.join(work, "api.key")
    with open(keyfile, "w") as f:
        f.write(stack.API_KEY + "\n")
    os.chmod(keyfile, 0o620)
    conf = stack.write_conf(work, "keyfile.conf", dict({k: v for k, v in BASE.items()
                                                  if k != "authy_api_key"},
                                                 authy_api_key_file=keyfile))
    r = run(["-c", conf, "-t"])
    t.check(r.returncode == 2 and "authy_api_key_file" in r.stderr and
            "mode 0620 lets the group write it" in r.stderr and stack.API_KEY not in r.stderr,
            "group-writable key file refused", r.stderr)
    os.chmod(keyfile, 0o640)
    r = run(["-c", conf, "-t"])
    t.check(r.returncode == 0, "key file 0640 accepted", r.stderr)
    if os.geteuid() != 0:
        print("  (not root: foreign owners are covered by the unit tests)")
        return
    os.chown(keyfile, 12345, 0)
    r = run(["-c", conf, "-t"])
    t.check(r.returncode == 2 and "api.key: owned by uid 12345" in r.stderr,
            "key file of another user refused", r.stderr)
    foreign = stack.write_conf(work, "foreign.conf", BASE)
    os.chown(foreign, 12345, 0)
    for args, what in ((["-t"], "--check-config"), ([], "start")):
        r = run(["-c", foreign] + args)
        t.check(r.returncode == 2 and "foreign.conf: owned by uid 12345" in r.stderr,
                f"config of another user refused at {what}", r.stderr)
    os.chown(foreign, 0, 12345)
    r = run(["-c", foreign, "-t"])
    t.check(r.returncode == 0, "config owned by root, group of another user, accepted",
            r.stderr)


def check_config_cli(t, work):
    conf = stack.write_conf(work, "ok.conf", BASE)
    r = run(["-c", conf, "--check-config"])
    t.check(r.returncode == 0 and "authy_api_key = ********" in r.stdout and
            stack.API_KEY not in r.stdout + r.stderr, "--check-config masks the key",
            r.stdout[-300:] + r.stderr)
    r = run(["-c", conf, "-t"], env={"PATH": "/usr/bin:/bin",
                                      "AUTHY_API_URL": "https://authy.example.net"})
    t.check("authy_api_url = https://authy.example.net" in r.stdout,
            "environment overrides the file")
    bad = stack.write_conf(work, "bad.conf", dict(BASE, no_such_key="1"))
    r = run(["-c", bad, "-t"])
    t.check(r.returncode == 2 and "bad.conf:" in r.stderr and "no_such_key" in r.stderr,
            "unknown key -> exit 2 naming file and line", r.stderr)
    loose = stack.write_conf(work, "loose.conf", BASE, mode=0o644)
    r = run(["-c", loose, "-t"])
    t.check(r.returncode == 2 and "loose.conf" in r.stderr, "world-readable config refused",
            r.stderr)
    check_ownership(t, work)
    nokey = stack.write_conf(work, "nokey.conf", {k: v for k, v in BASE.items()
                                            if k != "authy_api_key"})
    r = run(["-c", nokey, "-t"])
    t.check(r.returncode == 2 and "authy_api_key" in r.stderr, "missing API key -> exit 2",
            r.stderr)
    http = stack.write_conf(work, "http.conf", dict(BASE, authy_api_url="http://api.authy.com"))
    r = run(["-c", http, "-t"])
    t.check(r.returncode == 2 and "authy_api_url" in r.stderr, "plain http API URL refused",
            r.stderr)
    certs = stack.write_conf(work, "certs.conf", dict(BASE, client_cert_check="true"))
    r = run(["-c", certs, "-t"])
    t.check(r.returncode == 2 and "thumbprint" in r.stderr,
            "certificate check without thumbprints refused", r.stderr)
    r = run(["-c", os.path.join(work, "missing.conf"), "-t"])
    t.check(r.returncode == 2, "missing config file -> exit 2", r.stderr)


def check_credential_env(t, work):
    """A key file given in the environment (AUTHY_API_KEY_FILE, e.g. a systemd credential)
    replaces the one the configuration names, which is then never opened: a missing,
    world-readable or non-regular file there does not stop the responder. Without the
    variable the same configuration is refused."""
    good = os.path.join(work, "credential.key")
    with open(good, "w") as f:
        f.write(stack.API_KEY + "\n")
    os.chmod(good, 0o600)
    loose = os.path.join(work, "loose.key")
    with open(loose, "w") as f:
        f.write("looseKey0123456789\n")
    os.chmod(loose, 0o644)
    nokey = {k: v for k, v in BASE.items() if k != "authy_api_key"}
    env = {"AUTHY_API_KEY_FILE": good}
    for name, named in (("missing", os.path.join(work, "no", "such.key")), ("loose", loose),
                        ("directory", work)):
        conf = stack.write_conf(work, f"cred-{name}.conf", dict(nokey, authy_api_key_file=named))
        r = run(["-c", conf, "-t"])
        t.check(r.returncode == 2 and "authy_api_key_file" in r.stderr,
                f"{name} key file refused without the environment", r.stderr)
        r = run(["-c", conf, "-t"], env=env)
        t.check(r.returncode == 0 and f"authy_api_key_file = {good}" in r.stdout,
                f"{name} key file in the config, AUTHY_API_KEY_FILE set: --check-config "
                "takes the environment's", r.stdout[-300:] + r.stderr)
    sock = os.path.join(work, "credential.sock")
    conf = stack.write_conf(work, "cred-start.conf",
                            dict(nokey, listen=sock,
                                 authy_api_key_file=os.path.join(work, "no", "such.key")))
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.PIPE, text=True,
                         env=stack.child_env(env))
    try:
        stack.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10, "socket")
        t.check(p.poll() is None and healthz(sock),
                "responder starts with the key file from the environment")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=10)[1]
        stack.scan_findings(err, "b2c-authy with AUTHY_API_KEY_FILE")
        t.check(p.returncode == 0 and "such.key" not in err,
                "and never mentions the configured key file", f"{p.returncode} {err[-300:]}")
    tok = stack.write_conf(work, "cred-token.conf",
                           dict(BASE, twilio_auth_token_file=loose))
    r = run(["-c", tok, "-t"], env={"TWILIO_AUTH_TOKEN_FILE": good})
    t.check(r.returncode == 0 and f"twilio_auth_token_file = {good}" in r.stdout,
            "TWILIO_AUTH_TOKEN_FILE replaces the configured token file the same way",
            r.stdout[-300:] + r.stderr)


def healthz(target):
    """True when target answers /healthz; False also when nothing listens there."""
    try:
        r = stack.fcgi(target, "GET", "/healthz", {}, b"", None)
    except OSError:
        return False
    return r.status == 200 and r.json == {"status": "ok"}


def stop(p, t, what):
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        code = "hung"
    t.check(code == 0 and time.monotonic() - t0 < 3, f"{what}: SIGTERM -> exit 0 promptly",
            str(code))


def check_sockets(t, work):
    sock = os.path.join(work, "own.sock")
    conf = stack.write_conf(work, "own.conf", dict(BASE, listen=sock))
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.DEVNULL)
    stack.wait_for(lambda: os.path.exists(sock), 5, "socket")
    t.check(stat.S_IMODE(os.stat(sock).st_mode) == 0o660, "own Unix socket has mode 0660",
            oct(os.stat(sock).st_mode))
    t.check(healthz(sock), "serves on its own Unix socket")
    stop(p, t, "own socket")
    t.check(not os.path.exists(sock), "socket file removed on exit")
    check_socket_owner(t, work, sock, conf)

    port = stack.free_port()
    conf = stack.write_conf(work, "tcp.conf", dict(BASE, listen=f"127.0.0.1:{port}"))
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t.check(healthz(f"127.0.0.1:{port}"), "serves on host:port")
    stop(p, t, "tcp")

    conf = stack.write_conf(work, "inherit.conf", BASE)
    r = subprocess.run([stack.BIN, "-c", conf], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    t.check(r.returncode == 2 and "configuration error: no listening socket" in r.stderr,
            "no socket at all -> configuration error, exit 2", f"{r.returncode} {r.stderr}")
    unbound = stack.write_conf(work, "unbound.conf",
                               dict(BASE, listen=os.path.join(work, "no", "s.sock")))
    r = subprocess.run([stack.BIN, "-c", unbound], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    t.check(r.returncode == 2 and "configuration error: listen: " in r.stderr and
            "No such file or directory" in r.stderr,
            "a listen path that cannot be bound -> configuration error, exit 2",
            f"{r.returncode} {r.stderr}")
    check_systemd(t, work, conf)
    check_spawn_fcgi(t, work, conf)


def check_socket_owner(t, work, sock, conf):
    """A socket file is replaced only when nothing listens on it, and removed
    on exit only while it is still the one this process made."""
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()  # a socket file whose process is gone
    procs = []

    def spawn():
        procs.append(subprocess.Popen([stack.BIN, "-c", conf], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True))
        return procs[-1]
    try:
        a = spawn()
        stack.wait_for(lambda: healthz(sock), 5, "instance A")
        t.check(True, "a stale socket file is replaced")
        second = spawn()
        try:
            err = second.communicate(timeout=5)[1]
        except subprocess.TimeoutExpired:
            err = "still running"
        t.check(second.returncode == 2 and "another process is listening on it" in err,
                "a second instance on a live socket is refused (exit 2)",
                f"{second.returncode} {err}")
        t.check(healthz(sock), "the first instance still serves on its socket")
        if os.path.exists(sock):
            os.unlink(sock)  # the path taken over while A still runs
        b = spawn()
        stack.wait_for(lambda: healthz(sock), 5, "instance B")
        stop(a, t, "instance whose socket file was taken over")
        t.check(os.path.exists(sock) and healthz(sock),
                "stopping it leaves the other instance's socket file in place")
        stop(b, t, "instance B")
        t.check(not os.path.exists(sock), "instance B removes its own socket file")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def check_systemd(t, work, conf):
    """Socket activation: the socket on fd 3 with LISTEN_FDS/LISTEN_PID."""
    path = os.path.join(work, "activated.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    pid = os.fork()
    if pid == 0:
        if ls.fileno() != 3:
            os.dup2(ls.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 2)
        os.execv(stack.BIN, [stack.BIN, "-c", conf])
    ls.close()
    time.sleep(0.5)
    t.check(healthz(path), "systemd socket activation (fd 3)")
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    t.check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
            "socket-activated responder exits 0 on SIGTERM", str(status))


def check_spawn_fcgi(t, work, conf):
    if not shutil.which("spawn-fcgi"):
        print("skipped: spawn-fcgi not installed")
        return
    sock = os.path.join(work, "spawned.sock")
    pidfile = os.path.join(work, "spawned.pid")
    r = subprocess.run(["spawn-fcgi", "-s", sock, "-M", "0660", "-P", pidfile, "--",
                        stack.BIN, "-c", conf], capture_output=True, text=True, timeout=10)
    t.check(r.returncode == 0, "spawn-fcgi starts the responder", r.stderr)
    time.sleep(0.5)
    t.check(healthz(sock), "serves on the socket spawn-fcgi passed as fd 0")
    pid = int(open(pidfile).read().strip())
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 5
    while time.monotonic() < end and not exited(pid):
        time.sleep(0.05)
    t.check(exited(pid), "spawn-fcgi child exits on SIGTERM", f"pid {pid} still running")


def exited(pid):
    """True when pid is gone or a zombie (spawn-fcgi does not reap its child)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def check_warnings(t, work):
    """Settings that weaken the client-certificate check are named in a warning at start
    and by --check-config, where the operator checks the file before starting."""
    for key, val, needle in (("client_cert_check", "false", "client_cert_check is off"),
                             ("client_cert_allow_no_dates", "true",
                              "client_cert_allow_no_dates is on")):
        sock = os.path.join(work, f"warn-{key}.sock")
        settings = dict(BASE, listen=sock, client_cert_check="true",
                        client_cert_thumbprints="ab" * 20)
        settings[key] = val
        conf = stack.write_conf(work, f"warn-{key}.conf", settings)
        p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.PIPE, text=True)
        stack.wait_for(lambda: os.path.exists(sock), 5, "socket")
        p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=10)[1]
        t.check(needle in err, f"{key} = {val} is warned about at start", err[-400:])
        r = run(["-c", conf, "--check-config"])
        t.check(r.returncode == 0 and "# warning: " + needle in r.stdout,
                "and by --check-config", r.stdout[-400:])
    sock = os.path.join(work, "nowarn.sock")
    conf = stack.write_conf(work, "nowarn.conf", dict(BASE, listen=sock, client_cert_check="true",
                                                client_cert_thumbprints="ab" * 20))
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.PIPE, text=True)
    stack.wait_for(lambda: os.path.exists(sock), 5, "socket")
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=10)[1]
    t.check("warn" not in err.lower() or "client_cert" not in err,
            "no certificate warning with the strict defaults", err[-400:])
    # A TCP socket has no file mode: any local user could connect and send SSL_CLIENT_*.
    needle = "listen is a TCP address"
    r = run(["-c", conf, "--check-config"])
    t.check(r.returncode == 0 and needle not in r.stdout, "a unix socket: no TCP warning",
            r.stdout[-400:])
    port = stack.free_port()
    conf = stack.write_conf(work, "warn-tcp.conf", dict(BASE, listen=f"127.0.0.1:{port}"))
    r = run(["-c", conf, "--check-config"])
    t.check(r.returncode == 0 and "# warning: " + needle in r.stdout,
            "listen on host:port is warned about by --check-config", r.stdout[-400:])
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.PIPE, text=True)
    stack.wait_for(lambda: healthz(f"127.0.0.1:{port}"), 5, "the TCP listener")
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=10)[1]
    t.check(needle in err, "and at start", err[-400:])


def check_capacity(t, work):
    """Each waiting call holds a FastCGI connection: the defaults leave max_waits below
    max_connections, and a max_waits the connection cap would cut off is warned about by
    --check-config and at start."""
    conf = stack.write_conf(work, "cap-default.conf", {"authy_api_key": stack.API_KEY,
                                                       "client_cert_thumbprints": "ab" * 20})
    r = run(["-c", conf, "-t"])
    vals = dict(ln.split(" = ", 1) for ln in r.stdout.splitlines() if " = " in ln)
    t.check(r.returncode == 0 and int(vals.get("max_waits", "0")) <
            int(vals.get("max_connections", "0")) and "# warning" not in r.stdout,
            "defaults: max_waits below max_connections, no warning", r.stdout[-600:])
    sock = os.path.join(work, "cap.sock")
    conf = stack.write_conf(work, "cap.conf", dict(BASE, listen=sock, max_waits="16",
                                                   max_connections="16"))
    r = run(["-c", conf, "-t"])
    needle = "max_waits (16) is not below max_connections (16)"
    t.check(r.returncode == 0 and "# warning: " + needle in r.stdout,
            "--check-config warns when max_connections would cut waits off first",
            r.stdout[-400:])
    p = subprocess.Popen([stack.BIN, "-c", conf], stderr=subprocess.PIPE, text=True)
    stack.wait_for(lambda: os.path.exists(sock), 5, "socket")
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=10)[1]
    t.check(needle in err, "and so does the start", err[-400:])


def check_closed_std_fds(t, work):
    """Started with stdout and stderr closed (2>&- in an init script), the responder holds
    them with /dev/null, so no socket or epoll descriptor takes their numbers and gets log
    lines written into it."""
    sock = os.path.join(work, "closed-fds.sock")
    conf = stack.write_conf(work, "closed-fds.conf", dict(BASE, listen=sock))
    p = subprocess.Popen(["sh", "-c", 'exec "$0" -c "$1" 1>&- 2>&-', stack.BIN, conf],
                         env=stack.child_env())
    try:
        stack.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 5, "socket")
        fds = {fd: os.readlink(f"/proc/{p.pid}/fd/{fd}") for fd in ("1", "2")}
        t.check(fds == {"1": "/dev/null", "2": "/dev/null"},
                "closed stdout and stderr are held with /dev/null", repr(fds))
        t.check(healthz(sock), "and the responder serves")
    finally:
        stop(p, t, "closed stdout and stderr")


SECRET_ENV = {"AUTHY_API_KEY": "cli-env-api-key-5f3a9c0e", "TWILIO_AUTH_TOKEN": "cli-env-token-8d21b7",
              "TWILIO_API_SECRET": "cli-env-api-secret-4e6a", "VERIFY_IDENTITY_SECRET":
              "cli-env-identity-secret-9b0c"}


def as_nobody():
    """preexec_fn: drop to nobody, so that /proc/PID/ shows whether the process is
    dumpable (its files belong to root instead of the process's user when it is not)."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def check_secrets_in_process(t):
    """Secrets given in the environment are wiped from it once loaded: /proc/PID/environ
    no longer holds them, while the responder serves with them. The process is not
    dumpable, so other processes of its user cannot read its environ or memory."""
    sockdir = stack.tempdir()  # the work directory is root's alone
    sock = os.path.join(sockdir, "s.sock")
    env = dict(SECRET_ENV, AUTHY_API_URL="https://127.0.0.1:9", CLIENT_CERT_CHECK="false",
               MAX_WAITS="2", LISTEN=sock)
    root = os.geteuid() == 0
    if root:
        os.chown(sockdir, 65534, 65534)
    p = subprocess.Popen([stack.BIN], env=stack.child_env(env), stdin=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=as_nobody if root else None)
    try:
        stack.wait_for(lambda: healthz(sock) or p.poll() is not None, 5, "socket")
        t.check(healthz(sock), "serves with its secrets from the environment")
        path = f"/proc/{p.pid}/environ"
        if not root:
            try:
                open(path, "rb").read()
                readable = True
            except PermissionError:
                readable = False
            t.check(not readable, "/proc/PID/environ unreadable to the same user (not dumpable)")
            return
        t.check(os.stat(path).st_uid == 0 and os.stat(f"/proc/{p.pid}/status").st_uid == 0,
                "not dumpable: /proc/PID/ of the nobody process belongs to root")
        environ = open(path, "rb").read()
        left = [k for k, v in SECRET_ENV.items() if v.encode() in environ]
        t.check(not left and b"LISTEN=" + sock.encode() in environ,
                "secret values wiped from /proc/PID/environ, the rest kept", repr(left))
    finally:
        stop(p, t, "secrets in the environment")
        err = p.stderr.read()
        p.stderr.close()
        stack.scan_findings(err, "secrets in the environment")
        t.check(not any(v in err for v in SECRET_ENV.values()), "no secret in the log", err[-400:])
        shutil.rmtree(sockdir, ignore_errors=True)


def check_socket_buffer(t, work):
    """A request size the system cannot buffer (max_body_bytes plus max_params_bytes over
    2 x net.core.wmem_max - 196608, here Debian's default through an LD_PRELOAD shim) is
    refused by --check-config as at start, with exit status 2; the defaults pass both."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or stack.wrapper() or "ASAN_OPTIONS" in os.environ:
        print("skipped: socket buffer check (no C compiler, or under a wrapper or ASan)")
        return
    shim = os.path.join(work, "sndbuf_cap.so")
    subprocess.run([cc, "-shared", "-fPIC", "-o", shim,
                    os.path.join(os.path.dirname(__file__), "sndbuf_cap.c"), "-ldl"], check=True)
    env = {"LD_PRELOAD": shim}
    big = stack.write_conf(work, "bigbody.conf", dict(BASE, max_body_bytes="1048576",
                                                      listen=os.path.join(work, "big.sock")))
    for args, what in ((["-t"], "--check-config"), ([], "start")):
        r = run(["-c", big] + args, env=env)
        t.check(r.returncode == 2 and "net.core.wmem_max" in r.stderr and
                "configuration OK" not in r.stdout,
                f"max_body_bytes beyond the socket buffer refused by {what}",
                f"{r.returncode} {r.stdout[-200:]} {r.stderr[-300:]}")
    ok = stack.write_conf(work, "defaultbody.conf", BASE)
    r = run(["-c", ok, "-t"], env=env)
    t.check(r.returncode == 0 and "configuration OK" in r.stdout,
            "the default body and params sizes fit Debian's default socket buffer", r.stderr)


def check_install(t, work):
    """make install honours DESTDIR and PREFIX and installs a usable tree."""
    dest = os.path.join(work, "dest")
    # The default build, whatever BUILD the suites run with (make asan: build/asan).
    env = {k: v for k, v in os.environ.items() if k not in ("BUILD", "MAKEFLAGS", "MFLAGS")}
    r = subprocess.run(["make", "-s", "-C", stack.ROOT, "install", f"DESTDIR={dest}",
                        "PREFIX=/usr"], capture_output=True, text=True, timeout=300, env=env)
    t.check(r.returncode == 0, "make install DESTDIR=... PREFIX=/usr", r.stderr[-500:])
    binary = os.path.join(dest, "usr/lib/b2c-authy/b2c-authy.fcgi")
    t.check(os.access(binary, os.X_OK), "binary installed under PREFIX")
    t.check(os.path.exists(os.path.join(dest, "etc/b2c-authy/b2c-authy.conf.example")),
            "example configuration installed")
    unit = os.path.join(dest, "usr/lib/systemd/system/b2c-authy.service")
    text = open(unit).read() if os.path.exists(unit) else ""
    t.check("/usr/lib/b2c-authy/b2c-authy.fcgi" in text and "@PREFIX@" not in text,
            "systemd unit installed with PREFIX filled in")
    t.check(os.path.exists(os.path.join(dest, "usr/lib/systemd/system/b2c-authy.socket")),
            "systemd socket unit installed")
    for name, key in (("b2c-authy@.service", "ExecStart=/usr/lib/b2c-authy/b2c-authy.fcgi "
                       "-c /etc/b2c-authy/%i.conf"),
                      ("b2c-authy@.socket", "ListenStream=/run/b2c-authy/%i.sock")):
        path = os.path.join(dest, "usr/lib/systemd/system", name)
        text = open(path).read() if os.path.exists(path) else ""
        t.check(key in text.splitlines() and "@PREFIX@" not in text,
                f"template unit {name} installed with PREFIX filled in")
    for page in ("man8/b2c-authy.8", "man5/b2c-authy.conf.5"):
        t.check(os.path.exists(os.path.join(dest, "usr/share/man", page)),
                f"manual page {page} installed")
    for snippet in ("nginx/b2c-authy.conf", "apache/b2c-authy.conf", "lighttpd/b2c-authy.conf"):
        t.check(os.path.exists(os.path.join(dest, "usr/share/b2c-authy", snippet)),
                f"{snippet} installed")
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    t.check(r.returncode == 0, "installed binary runs")


def main():
    t = stack.Counter()
    if not os.access(stack.BIN, os.X_OK) or not shutil.which("cgi-fcgi"):
        t.skip("responder binary or cgi-fcgi missing")
        return t.summary()
    work = stack.tempdir()
    try:
        check_usage(t)
        check_config_cli(t, work)
        check_credential_env(t, work)
        check_sockets(t, work)
        check_warnings(t, work)
        check_capacity(t, work)
        check_closed_std_fds(t, work)
        check_secrets_in_process(t)
        check_socket_buffer(t, work)
        check_install(t, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
