"""robust.py - stalled and hostile FastCGI clients against the real responder,
over raw sockets: /healthz answers within 1 s while 300 stalled and 1,000 idle
connections are open; the request deadline closes a stalled connection; a
params record with overflowing lengths, 100 MB of announced params and params
over the cap each close their connection with a log line while the process
lives, and so does a body of padded records that outgrows the read buffer;
/metrics counts each connection closed this way by reason; the connection cap
holds; FCGI_KEEP_CONN carries two requests on one connection, also after a
wait that outlived its libfcgi streams; a web server that does not read its
replies has its connection closed without holding the loop, and neither does
a journal, pipe or syslog daemon that stops reading (one on a stream socket
gets NUL-ended lines, also after it restarts); a client that
goes away aborts its wait at once, one that only shuts its sending side
still gets the reply (and aborts when it closes after all); a second request
begun on a connection while a wait runs there gets FCGI_CANT_MPX_CONN and the
wait its reply, also when its start came in the same write; FCGI_GET_VALUES
there is answered and the wait goes on, and FCGI_ABORT_REQUEST ends the wait
with FCGI_END_REQUEST and leaves a kept connection usable; SIGTERM drains
with idle and stalled connections open, and under socket activation while the process that passed
the socket keeps it open; RLIMIT_NOFILE is raised to the hard limit, with a
warning when that cannot hold max_connections; quotes and spaces in the
method and path cannot forge fields of the access line; record padding that
libfcgi would misread (after BEGIN_REQUEST, after the end of the params, and
after the end of stdin where libfcgi's read stops) neither hangs the
responder nor reaches the next connection's request; FCGI_GET_VALUES and a
management record of an unknown type before a request are answered, and the
request after them is served, and so is FCGI_GET_VALUES among a request's records;
FCGI_ABORT_REQUEST before a request is complete gets FCGI_END_REQUEST, and one
for a request already answered (in the write that carried it) or never begun
is ignored on a kept connection; after a 413 sent before the whole body has come,
a kept connection drops the rest of the body by its records and serves the next
request, and one not kept closes. Ends with
"N passed, N failed".
"""
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import e2e  # noqa: E402
import stack  # noqa: E402

BUDGET_MS = 3000
SLOW = 8.0 if stack.wrapper() else 1.0  # more time under valgrind


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(path):
    """A connection to the responder (the socket file appears just before listen())."""
    end = time.monotonic() + 10 * SLOW
    while True:
        try:
            return stack.unix_connect(path, 10)
        except ConnectionRefusedError:
            if time.monotonic() > end:
                raise RuntimeError("the responder does not accept connections")
            time.sleep(0.05)


def begin(keep=False):
    return stack._fcgi_record(stack.FCGI_BEGIN, struct.pack(">HB5x", 1, 1 if keep else 0))


def request_bytes(method, path, keep=False, params=None, body=b""):
    env = stack.fcgi_env(method, path, params, body, None)
    env.pop("PATH", None)
    out = begin(keep) + stack._fcgi_params(env)
    if body:
        out += stack._fcgi_record(stack.FCGI_STDIN, body)
    return out + stack._fcgi_record(stack.FCGI_STDIN, b"")


def read_reply(s):
    """Read one reply (up to FCGI_END_REQUEST); returns a stack.Reply, or None at EOF first."""
    out = b""
    started = time.monotonic()
    try:
        for rtype, _, content in stack.fcgi_records(s):
            if rtype == stack.FCGI_STDOUT:
                out += content
            if rtype == stack.FCGI_END:
                return stack.Reply(out, time.monotonic() - started)
    except (ConnectionResetError, socket.timeout):
        pass
    return None


def closed_within(s, seconds):
    """True when the responder closes s (EOF or reset) within seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def healthz(sock):
    return stack.fcgi_raw(sock, "GET", "/healthz", {}, b"", None, timeout=10)


def closed_counts(sock):
    """b2c_authy_connections_closed_total by reason, from /metrics."""
    m = stack.fcgi_raw(sock, "GET", "/metrics", {}, b"", None, timeout=10)
    return {k: int(v) for k, v in re.findall(
        r'^b2c_authy_connections_closed_total\{reason="(\w+)"\} (\d+)$',
        m.body.decode(), re.M)}


def logfmt(line):
    """key=value pairs of a logfmt line; quoted values unescaped."""
    out = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out.setdefault(m.group(1), []).append(v)
    return out


def stalled_and_idle(t, work, base):
    r = stack.Responder(work, dict(base, max_connections=2000, request_read_timeout_ms=60000),
                        name="crowd")
    conns = []
    try:
        for _ in range(1000):
            conns.append(connect(r.sock))
        for _ in range(300):
            s = connect(r.sock)
            s.sendall(b"\x01")
            conns.append(s)
        time.sleep(0.3)
        h = healthz(r.sock)
        t.check(h.status == 200 and h.elapsed < 1.0 * SLOW,
                "/healthz within 1 s with 300 stalled and 1,000 idle connections open",
                f"{h!r} {h.elapsed:.2f}s")
        m = stack.fcgi_raw(r.sock, "GET", "/metrics", {}, b"", None, timeout=10)
        t.check(m.status == 200, "/metrics too", repr(m))
    finally:
        for s in conns:
            s.close()
        rc = r.stop()
    t.check(rc == 0, "crowd: exit status 0", str(rc))


def deadline(t, work, base):
    r = stack.Responder(work, dict(base, request_read_timeout_ms=500), name="deadline")
    stalled = idle = None
    try:
        stalled = connect(r.sock)
        stalled.sendall(begin()[:5])
        idle = connect(r.sock)
        t0 = time.monotonic()
        t.check(closed_within(stalled, 3 * SLOW), "the request deadline closes a stalled "
                "connection")
        t.check(time.monotonic() - t0 >= 0.4, "not before the deadline",
                f"{time.monotonic() - t0:.2f}s")
        t.check(closed_within(idle, 3 * SLOW), "an idle connection is closed at the deadline")
        stack.wait_for(lambda: "not complete within 500 ms" in r.log_text(), 5, "log line")
        t.check(True, "deadline: logged")
        t.check(healthz(r.sock).status == 200, "deadline: still serving")
        n = closed_counts(r.sock)
        t.check(n.get("deadline") == 1 and sum(n.values()) == 1, "the stalled connection counts "
                "as closed for the deadline, the idle one not at all", repr(n))
    finally:
        for s in (stalled, idle):
            if s is not None:
                s.close()
        r.stop()


def hostile_params(t, work, base):
    r = stack.Responder(work, dict(base, max_params_bytes=65536), name="hostile")
    try:
        # The 24-byte record: name and value lengths each near 2^31.
        s = connect(r.sock)
        s.sendall(begin() + stack._fcgi_record(stack.FCGI_PARAMS,
                                               struct.pack(">II", 0xfffffff0, 0xfffffff0)))
        t.check(closed_within(s, 3 * SLOW), "overflowing params lengths close the connection")
        s.close()
        # 100 MB of params announced.
        s = connect(r.sock)
        s.sendall(begin() + stack._fcgi_record(stack.FCGI_PARAMS,
                                               b"\x01" + struct.pack(">I", 0x80000000 |
                                                                     100_000_000) + b"X"))
        t.check(closed_within(s, 3 * SLOW), "100 MB of announced params close the connection")
        s.close()
        # Params over the cap, really sent.
        big = {f"HTTP_X_{i}": "v" * 1000 for i in range(80)}
        s = connect(r.sock)
        try:
            s.sendall(begin() + stack._fcgi_params(big))
        except (BrokenPipeError, ConnectionResetError):
            pass
        t.check(closed_within(s, 3 * SLOW), "80 KB of params (cap 64 KiB) close the connection")
        s.close()
        # A record of another version.
        s = connect(r.sock)
        s.sendall(b"\x02" + begin()[1:])
        t.check(closed_within(s, 3 * SLOW), "a record of version 2 closes the connection")
        s.close()
        # The same lengths filling the first read (4 KiB), the connection shut
        # at once, all of it there before the responder reads (it is stopped
        # meanwhile): the end of the stream comes in the same read, and the
        # violation is still what is logged and counted.
        os.kill(r.proc.pid, signal.SIGSTOP)
        try:
            s = connect(r.sock)
            s.sendall(begin() + stack._fcgi_record(stack.FCGI_PARAMS, struct.pack(
                ">II", 0xfffffff0, 0xfffffff0) + b"x" * (4096 - 16 - 8 - 8)))
            s.shutdown(socket.SHUT_WR)
        finally:
            os.kill(r.proc.pid, signal.SIGCONT)
        t.check(closed_within(s, 3 * SLOW), "overflowing lengths then EOF close the connection")
        s.close()
        text = r.log_text()
        t.check(text.count("params name and value lengths overflow") >= 2 and
                text.count("params over the cap") >= 2 and "record version is not 1" in text,
                "each hostile connection is logged", text[-1500:])
        h = healthz(r.sock)
        t.check(h.status == 200 and r.proc.poll() is None, "the process lives and serves",
                repr(h))
        ok = stack.fcgi_raw(r.sock, "GET", "/healthz", {"HTTP_X_PAD": "p" * 60000}, b"", None)
        t.check(ok.status == 200, "params just under the cap are served", repr(ok))
        # A body of 1-byte records padded to 256 bytes outgrows the read buffer.
        s = connect(r.sock)
        padded = struct.pack(">BBHHBx", 1, stack.FCGI_STDIN, 1, 1, 255) + b"x" + b"\0" * 255
        try:
            s.sendall(request_bytes("POST", "/api/identity/register")[:-8] + padded * 1600)
        except (BrokenPipeError, ConnectionResetError):
            pass
        t.check(closed_within(s, 3 * SLOW), "400 KB of padded records close the connection")
        s.close()
        t.check("FastCGI request over" in r.log_text(), "the padded request is logged")
        n = closed_counts(r.sock)
        t.check(n.get("protocol") == 5 and n.get("too_large") == 1,
                "/metrics counts them: 5 protocol, 1 too large", repr(n))
    finally:
        r.stop()


def connection_cap(t, work, base):
    r = stack.Responder(work, dict(base, max_connections=16, request_read_timeout_ms=60000),
                        name="cap")
    conns = []
    try:
        for _ in range(16):
            conns.append(connect(r.sock))
        time.sleep(0.3)
        extra = connect(r.sock)
        t.check(closed_within(extra, 2 * SLOW), "a connection over max_connections is closed")
        extra.close()
        t.check(all(not closed_within(c, 0.01) for c in conns), "the connections under the "
                "cap stay open")
        conns.pop().close()
        time.sleep(0.3)
        h = healthz(r.sock)
        t.check(h.status == 200, "served again once under the cap", repr(h))
        t.check(r.log_text().count("max_connections (16) reached") == 1,
                "the cap is logged once")
        n = closed_counts(r.sock)
        t.check(n.get("max_connections") == 1, "/metrics counts the connection over the cap",
                repr(n))
    finally:
        for c in conns:
            c.close()
        r.stop()


def keep_conn(t, work, base):
    r = stack.Responder(work, base, name="keep")
    try:
        s = connect(r.sock)
        s.sendall(request_bytes("GET", "/healthz", keep=True))
        a = read_reply(s)
        s.sendall(request_bytes("GET", "/metrics", keep=True))
        b = read_reply(s)
        t.check(a is not None and a.status == 200 and b is not None and b.status == 200 and
                b"b2c_authy" in b.body, "FCGI_KEEP_CONN: two requests on one connection",
                f"{a!r} {b!r}")
        s.sendall(request_bytes("GET", "/healthz", keep=False))
        c = read_reply(s)
        t.check(c is not None and c.status == 200 and closed_within(s, 2 * SLOW),
                "without FCGI_KEEP_CONN the connection closes after the reply", repr(c))
        s.close()
    finally:
        r.stop()


def not_reading(t, work, base):
    """A web server that sends request after request on one kept connection and never reads
    a reply: its connection is closed when its socket buffer is full, and the loop never
    waits on it (/healthz on another connection answers within 1 s throughout)."""
    r = stack.Responder(work, base, name="noread")
    s = connect(r.sock)
    one = request_bytes("GET", "/metrics", keep=True)
    state = {"sent": 0, "closed": False, "stop": False}

    def unread(sock):
        """Bytes sent on sock that the responder has not read yet (SIOCOUTQ)."""
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]

    def pump():
        # Each request goes once the responder has read the one before (as nginx
        # does), so that only the unread replies can close the connection.
        s.setblocking(False)
        while not state["stop"]:
            try:
                s.send(one)
                state["sent"] += 1
                while unread(s) > 0 and not state["stop"]:
                    time.sleep(0.001)
            except BlockingIOError:
                pass
            except OSError:
                state["closed"] = True
                return
            time.sleep(0.001)

    th = threading.Thread(target=pump)
    worst = 0.0
    try:
        th.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6 * SLOW and not state["closed"]:
            worst = max(worst, healthz(r.sock).elapsed)
            time.sleep(0.02)
        time.sleep(0.2)
        state["stop"] = True
        th.join()
        t.check(state["closed"], "a web server that does not read its replies has its "
                "connection closed", f"{state['sent']} requests sent")
        t.check(worst < 1.0 * SLOW, "/healthz within 1 s meanwhile (no write waits)",
                f"worst {worst:.2f}s")
        text = r.log_text()
        t.check("web server does not read its replies: connection closed" in text,
                "not_reading: logged")
        lines = [ln for ln in text.splitlines() if 'path="/metrics"' in ln]
        t.check(lines and 'outcome=aborted' in lines[-1] and
                all('outcome=ok' in ln for ln in lines[:-1]),
                "the reply it never took is logged as aborted, the ones before as ok",
                lines[-1] if lines else "no access line")
        t.check(healthz(r.sock).status == 200, "not_reading: still serving")
        n = closed_counts(r.sock)
        t.check(n.get("unread_replies") == 1, "/metrics counts it under unread_replies", repr(n))
    finally:
        state["stop"] = True
        s.close()
        r.stop()


def with_id(data, rid):
    """The records in data with request id rid instead of 1."""
    out, i = b"", 0
    while i < len(data):
        clen, plen = struct.unpack(">HB", data[i + 4:i + 7])
        out += data[i:i + 2] + struct.pack(">H", rid) + data[i + 4:i + 8 + clen + plen]
        i += 8 + clen + plen
    return out


def reply_records(s):
    """(type, request id) of every record up to FCGI_END_REQUEST, and the stdout."""
    recs, out = [], b""
    for rtype, rid, content in stack.fcgi_records(s):
        recs.append((rtype, rid))
        if rtype == stack.FCGI_STDOUT:
            out += content
        if rtype == stack.FCGI_END:
            break
    return recs, stack.Reply(out, 0)


def kept_wait(t, work, base, certs):
    """A wait answered after it was released (params copied, libfcgi's streams freed) still
    replies with its own request id and keeps its FCGI_KEEP_CONN connection."""
    r = stack.Responder(work, base, name="keptwait")
    try:
        aid = register_user(r.sock, certs, "autoapprove300@example.com", "+1 720 555 0198")
        s = connect(r.sock)
        s.settimeout(BUDGET_MS / 1000 + 5)
        s.sendall(with_id(wait_bytes(certs, aid, "kept", keep=True), 0x1234))
        recs, a = reply_records(s)
        t.check(a.status == 200 and a.json == e2e.APPROVED and
                all(rid == 0x1234 for _, rid in recs) and recs[-1][0] == stack.FCGI_END,
                "a wait answered after 300 ms carries its request id", f"{recs} {a!r}")
        s.sendall(request_bytes("GET", "/healthz", keep=True))
        b = read_reply(s)
        t.check(b is not None and b.status == 200, "its kept connection serves the next request",
                repr(b))
        s.close()
    finally:
        r.stop()


# A wait that only the test ends (approve_pending) may run this long.
HELD_BUDGET_MS = 20000


def held_wait(r, certs, who, phone, keep=True):
    """A connection with a wait running on it (its approval requested) for a user of its own
    (phone) whom the mock never approves by itself; returns the socket and the authyId."""
    aid = register_user(r.sock, certs, f"held.{who}@example.com", phone)
    before = r.log_text().count("approval requested")
    s = connect(r.sock)
    s.settimeout(HELD_BUDGET_MS / 1000 + 5 * SLOW)
    s.sendall(wait_bytes(certs, aid, who, keep=keep))
    stack.wait_for(lambda: r.log_text().count("approval requested") > before, 5 * SLOW,
                   "the wait")
    return s, aid


def approve_pending(mock, aid):
    mock.call("POST", f"/_mock/users/{aid}/approve-pending")


def records_until(records, rtype, rid):
    """The records (type, request id, content) from the generator records up to the first
    of type rtype for request rid, or to the end of the connection."""
    out = []
    for rec in records:
        out.append(rec)
        if rec[:2] == (rtype, rid):
            break
    return out


def stdout_of(recs, rid):
    return stack.Reply(b"".join(c for rt, i, c in recs if (rt, i) == (stack.FCGI_STDOUT, rid)),
                       0)


CANT_MPX_2 = (stack.FCGI_END, 2, b"\0\0\0\0\x01\0\0\0")


def cant_mpx_then_reply(t, s, mock, aid, refused, answered):
    """On s, where the wait of aid runs as request 1 and request 2 was begun: request 2 gets
    FCGI_CANT_MPX_CONN, the wait its approval once that is in, and the kept connection the
    next request. s is closed."""
    records = stack.fcgi_records(s)
    first = records_until(records, stack.FCGI_END, 2)
    t.check(first == [CANT_MPX_2], refused, repr(first))
    approve_pending(mock, aid)
    reply = stdout_of(records_until(records, stack.FCGI_END, 1), 1)
    t.check(reply.status == 200 and reply.json == e2e.APPROVED, answered, repr(reply))
    s.sendall(request_bytes("GET", "/healthz", keep=True))
    b = read_reply(s)
    t.check(b is not None and b.status == 200, "and the connection serves the next request",
            repr(b))
    s.close()


def multiplexed(t, work, base, certs, mock):
    """Another request begun on a connection whose request runs: FCGI_CANT_MPX_CONN for it,
    its records dropped (sent one byte at a time), and the one running is not disturbed.
    The wait is approved only once that answer is in, however slow the machine."""
    r = stack.Responder(work, dict(base, wait_budget_ms=HELD_BUDGET_MS), name="mpx")
    try:
        s, aid = held_wait(r, certs, "mpx", "+1 720 555 0181")
        for b in with_id(request_bytes("GET", "/healthz"), 2):
            s.sendall(bytes([b]))
        cant_mpx_then_reply(t, s, mock, aid, "a second request on the connection gets "
                            "FCGI_CANT_MPX_CONN", "the wait running there gets its reply")
    except (BrokenPipeError, ConnectionResetError) as e:
        t.check(False, "a second request on the connection gets FCGI_CANT_MPX_CONN", repr(e))
    finally:
        r.stop()


def multiplexed_same_write(t, work, base, certs, mock):
    """The start of a second request in the same write as the first (a header cut short): it
    is read with the first and still gets FCGI_CANT_MPX_CONN; the first is not aborted."""
    r = stack.Responder(work, dict(base, wait_budget_ms=HELD_BUDGET_MS), name="mpxsame")
    try:
        aid = register_user(r.sock, certs, "held.mpxsame@example.com", "+1 720 555 0182")
        s = connect(r.sock)
        s.settimeout(HELD_BUDGET_MS / 1000 + 5 * SLOW)
        second = with_id(request_bytes("GET", "/healthz"), 2)
        s.sendall(wait_bytes(certs, aid, "mpxsame", keep=True) + second[:3])
        stack.wait_for(lambda: "approval requested" in r.log_text(), 5 * SLOW, "the wait")
        s.sendall(second[3:])
        cant_mpx_then_reply(t, s, mock, aid, "a request begun in the first one's write gets "
                            "FCGI_CANT_MPX_CONN", "and the wait read with it gets its reply")
    except (BrokenPipeError, ConnectionResetError) as e:
        t.check(False, "a request begun in the first one's write gets FCGI_CANT_MPX_CONN",
                repr(e))
    finally:
        r.stop()


def records_in_flight(t, work, base, certs, mock):
    """Records of the running request's own connection while a wait runs there: a management
    record (FCGI_GET_VALUES, request id 0, a byte at a time) is answered and the wait goes on
    to its reply; FCGI_ABORT_REQUEST for the wait ends it with FCGI_END_REQUEST alone, and the
    connection, kept by FCGI_KEEP_CONN, serves the next request (else it closes)."""
    r = stack.Responder(work, dict(base, wait_budget_ms=HELD_BUDGET_MS, max_connections=100),
                        name="inflight")
    try:
        s, aid = held_wait(r, certs, "inflight", "+1 720 555 0183")
        for b in stack._fcgi_record(9, b"\x0e\x00FCGI_MAX_CONNS\x0f\x00FCGI_MPXS_CONNS",
                                    req_id=0):
            s.sendall(bytes([b]))
        records = stack.fcgi_records(s)
        first = records_until(records, 10, 0)
        t.check(first == [(10, 0, b"\x0e\x03FCGI_MAX_CONNS100\x0f\x01FCGI_MPXS_CONNS0")],
                "FCGI_GET_VALUES while a wait runs is answered", repr(first))
        approve_pending(mock, aid)
        reply = stdout_of(records_until(records, stack.FCGI_END, 1), 1)
        t.check(reply.status == 200 and reply.json == e2e.APPROVED,
                "and the wait goes on to its reply", repr(reply))
        before = r.log_text().count("approval requested")
        s.sendall(wait_bytes(certs, aid, "inflight2", keep=True))
        stack.wait_for(lambda: r.log_text().count("approval requested") > before, 5 * SLOW,
                       "the second wait")
        s.sendall(stack._fcgi_record(2, b"", req_id=1))
        recs = records_until(records, stack.FCGI_END, 1)
        t.check(recs[-1:] == [(stack.FCGI_END, 1, b"\0" * 8)] and
                all(c == b"" for rt, _, c in recs if rt == stack.FCGI_STDOUT),
                "FCGI_ABORT_REQUEST ends a wait with FCGI_END_REQUEST", repr(recs))
        s.sendall(request_bytes("GET", "/healthz", keep=True))
        b = read_reply(s)
        t.check(b is not None and b.status == 200, "and its kept connection serves the next "
                "request", repr(b))
        s.close()
        t.check(any("outcome=aborted" in ln and "route=wait" in ln
                    for ln in r.log_text().splitlines()),
                "the aborted wait's access line says so")
        s, _ = held_wait(r, certs, "inflight3", "+1 720 555 0184", keep=False)
        s.sendall(stack._fcgi_record(2, b"", req_id=1))
        recs = records_until(stack.fcgi_records(s), stack.FCGI_END, 1)
        t.check(recs[-1:] == [(stack.FCGI_END, 1, b"\0" * 8)] and closed_within(s, 2 * SLOW),
                "without FCGI_KEEP_CONN the connection closes after FCGI_END_REQUEST", repr(recs))
        s.close()
    except (BrokenPipeError, ConnectionResetError) as e:
        t.check(False, "records that arrive while a wait runs are answered", repr(e))
    finally:
        r.stop()


def register_user(sock, certs, email, phone="+1 720 555 0199"):
    r = stack.fcgi(sock, "POST", e2e.REGISTER, stack.cert_params(certs, "client"),
                   json.dumps({"email": email, "phoneNumber": phone}))
    if r.status != 200 or not isinstance(r.json, dict) or "authyId" not in r.json:
        raise RuntimeError(f"register {email}: {r!r}")
    return r.json["authyId"]


def wait_bytes(certs, aid, who, keep=False):
    return request_bytes("POST", e2e.WAIT, keep, params=dict(stack.cert_params(certs, "client"),
                                                            CONTENT_TYPE="application/json"),
                         body=json.dumps({"authyId": aid, "signInName": who,
                                          "correlationId": e2e.cid_of(who)}).encode())


def half_closed(t, work, base, certs):
    """shutdown(SHUT_WR) after a whole request is not a client that went away."""
    r = stack.Responder(work, base, name="halfclose")
    try:
        aid = register_user(r.sock, certs, "autoapprove300@example.com", "+1 720 555 0198")
        s = connect(r.sock)
        s.settimeout(BUDGET_MS / 1000 + 5)
        s.sendall(wait_bytes(certs, aid, "half", keep=True))
        s.shutdown(socket.SHUT_WR)
        reply = read_reply(s)
        t.check(reply is not None and reply.status == 200 and reply.json == e2e.APPROVED,
                "a half-closed connection gets the reply of its wait", repr(reply))
        t.check(closed_within(s, 2 * SLOW), "and is closed after it, FCGI_KEEP_CONN or not")
        s.close()
        aid = register_user(r.sock, certs, "never@example.com")
        s = connect(r.sock)
        s.sendall(wait_bytes(certs, aid, "halfgone"))
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.3)
        s.close()
        stack.wait_for(lambda: "outcome=aborted" in r.log_text(), 2 * SLOW, "the abort")
        t.check(True, "closing it after all aborts the wait before the budget")
    finally:
        r.stop()


def drain_serves_arrived(t, work, base):
    """A request that arrived on a kept connection before SIGTERM was read is
    served, not dropped: the responder is stopped while the signal and then the
    request come, so both wait in the same batch, the signal first."""
    r = stack.Responder(work, base, name="arrived")
    s = None
    try:
        s = connect(r.sock)
        time.sleep(0.3)  # accepted and idle
        os.kill(r.proc.pid, signal.SIGSTOP)
        try:
            r.proc.send_signal(signal.SIGTERM)
            s.sendall(request_bytes("GET", "/healthz", keep=True))
        finally:
            os.kill(r.proc.pid, signal.SIGCONT)
        reply = read_reply(s)
        t.check(reply is not None and reply.status == 200,
                "SIGTERM with a request arrived unread: the request is served", repr(reply))
        rc = r.stop(timeout=10)
        t.check(rc == 0 and "requests that had arrived served" in r.log_text(),
                "then the responder drains and exits 0", f"rc={rc}")
    finally:
        if s is not None:
            s.close()
        r.stop()


def abort_and_drain(t, work, base, certs):
    r = stack.Responder(work, dict(base, request_read_timeout_ms=60000), name="drain")
    conns = []
    try:
        aid = register_user(r.sock, certs, "never@example.com")
        s = connect(r.sock)
        s.sendall(wait_bytes(certs, aid, "gone"))
        time.sleep(0.5)
        s.close()
        stack.wait_for(lambda: "outcome=aborted" in r.log_text(), 2 * SLOW, "the abort")
        t.check(True, "a client that goes away aborts its wait before the budget")
        inflight = connect(r.sock)
        inflight.sendall(wait_bytes(certs, aid, "drain"))
        for i in range(50):
            c = connect(r.sock)
            if i % 2:
                c.sendall(begin()[:3])
            conns.append(c)
        time.sleep(0.5)
        t0 = time.monotonic()
        rc = r.stop(timeout=BUDGET_MS / 1000 + 5)
        took = time.monotonic() - t0
        reply = read_reply(inflight)
        t.check(rc == 0 and took < BUDGET_MS / 1000 + 2 * SLOW,
                "SIGTERM drains within the wait budget with idle and stalled connections open",
                f"rc={rc} {took:.2f}s")
        t.check(reply is not None and reply.status == 409, "the in-flight wait got its reply",
                repr(reply))
        t.check(all(closed_within(c, 0.5) for c in conns), "idle and stalled connections "
                "closed")
    finally:
        for c in conns:
            c.close()
        r.stop()


def shared_listener(t, work, base, certs):
    """SIGTERM under socket activation, with the socket still open in the
    process that passed it (as systemd keeps it): a connection that arrives
    during the drain must not reach the responder, and the wait in flight gets
    its reply."""
    reg = stack.Responder(work, base, name="shared-reg")
    try:
        aid = register_user(reg.sock, certs, "never@example.com")
    finally:
        reg.stop()
    path = os.path.join(work, "shared.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)
    conf = stack.write_conf(work, "shared.conf", base)
    log = open(os.path.join(work, "shared.log"), "wb")
    lfd = ls.fileno()

    def as_systemd():
        os.dup2(lfd, 3)
        os.set_inheritable(3, True)
    p = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh"] +
                         stack.wrapper() + [stack.BIN, "-c", conf], stdout=log, stderr=log,
                         env=stack.child_env(), pass_fds=(3,) if lfd == 3 else (),
                         preexec_fn=as_systemd)
    late = None
    try:
        stack.wait_for(lambda: b"started version" in open(log.name, "rb").read(), 10 * SLOW,
                       "the socket-activated responder")
        inflight = connect(path)
        inflight.sendall(wait_bytes(certs, aid, "shared"))
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        stack.wait_for(lambda: b"draining:" in open(log.name, "rb").read(), 5 * SLOW,
                       "the drain")
        late = connect(path)  # queued on the socket that the unit still holds
        late.sendall(request_bytes("GET", "/healthz"))
        reply = read_reply(inflight)
        rc = p.wait(BUDGET_MS / 1000 + 10 * SLOW)
        t.check(rc == 0, "shared listener: exit status 0 after a connection during the drain",
                str(rc))
        t.check(reply is not None and reply.status == 409,
                "shared listener: the wait in flight got its reply", repr(reply))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if late is not None:
            late.close()
        ls.close()
        log.close()


def open_file_limit(t, work, base):
    """The soft limit goes up to the hard one; too low a hard limit is warned about."""
    if stack.wrapper():  # valgrind keeps descriptors of its own and lowers the limits
        print("skipped: open file limit (valgrind changes the process's limits)")
        return
    def start(name, soft, hard, conns):
        sock = os.path.join(work, f"{name}.sock")
        conf = stack.write_conf(work, f"{name}.conf", dict(base, listen=sock,
                                                           max_connections=conns))
        log = open(os.path.join(work, f"{name}.log"), "wb")
        p = subprocess.Popen(stack.wrapper() + [stack.BIN, "-c", conf], stdout=log, stderr=log,
                             env=stack.child_env(),
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                   (soft, hard)))
        stack.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10 * SLOW,
                       "the socket")
        limits = open(f"/proc/{p.pid}/limits").read()
        p.terminate()
        p.wait(10 * SLOW)
        log.close()
        return limits, open(log.name).read()
    limits, text = start("nofile-raise", 256, 2048, 1024)
    m = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits)
    t.check(m is not None and m.group(1) == m.group(2) == "2048",
            "RLIMIT_NOFILE raised to the hard limit at start", limits)
    t.check("cannot hold max_connections" not in text, "no warning when the limit suffices")
    limits, text = start("nofile-low", 256, 256, 4096)
    t.check("open file limit 256 cannot hold max_connections (4096)" in text,
            "a hard limit below max_connections is warned about", text[-800:])


def dropped_count(sock):
    m = stack.fcgi_raw(sock, "GET", "/metrics", {}, b"", None, timeout=5)
    found = re.search(r"^b2c_authy_log_lines_dropped_total (\d+)$", m.body.decode(), re.M)
    return int(found.group(1)) if found else -1


# Runs the responder with --syslog in a mount namespace whose /dev/log is the test's socket.
SYSLOG_NS = """set -e
mount --bind /dev "$2"
mount -t tmpfs -o size=64k,mode=0755 none /dev
touch /dev/null /dev/log
mount --bind "$2/null" /dev/null
mount --bind "$3" /dev/log
umount -l "$2"
exec "$0" -s -c "$1"
"""


def log_sink_full(t, work, base):
    """A journal (socket) or pipe behind stderr, or a syslog daemon, that stops reading costs
    log lines, counted in /metrics and told once it reads again, and never holds the loop."""
    for kind in ("pipe", "socket", "syslog"):
        sock = os.path.join(work, f"sink-{kind}.sock")
        conf = stack.write_conf(work, f"sink-{kind}.conf", dict(base, listen=sock))
        cmd = stack.wrapper() + [stack.BIN, "-c", conf]
        if kind == "syslog":
            if os.geteuid() != 0 or not shutil.which("unshare") or stack.wrapper():
                print("skipped: syslog sink (needs root and unshare, no wrapper)")
                continue
            devlog = os.path.join(work, "devlog")
            olddev = os.path.join(work, "olddev")
            os.makedirs(olddev, exist_ok=True)
            reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            reader.bind(devlog)
            wr = os.open(os.devnull, os.O_WRONLY)
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", SYSLOG_NS,
                   stack.BIN, conf, olddev, devlog]
        elif kind == "pipe":
            rd, wr = os.pipe()
            fcntl.fcntl(wr, 1031, 4096)  # F_SETPIPE_SZ: one page
            reader = os.fdopen(rd, "rb", buffering=0)
        else:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            wr = os.dup(b.fileno())
            b.close()
            reader = a
        p = subprocess.Popen(cmd, stdout=wr, stderr=wr, env=stack.child_env())
        os.close(wr)
        try:
            stack.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10 * SLOW,
                           "the socket")
            slow = 0
            for _ in range(300):
                try:
                    h = stack.fcgi_raw(sock, "GET", "/healthz", {}, b"", None, timeout=5 * SLOW)
                except OSError:
                    slow = -1
                    break
                slow += h.status != 200
            t.check(slow == 0, f"{kind}: a log that is not read leaves /healthz answering",
                    "a request timed out" if slow < 0 else f"{slow} of 300 failed")
            if slow < 0:
                continue
            lost = dropped_count(sock)
            t.check(lost > 0, f"{kind}: the dropped log lines are counted in /metrics",
                    str(lost))
            os.set_blocking(reader.fileno(), False)
            text = b""
            deadline_at = time.monotonic() + 10 * SLOW
            while b"log lines dropped" not in text and time.monotonic() < deadline_at:
                try:
                    chunk = reader.read(65536) if kind == "pipe" else reader.recv(65536)
                    if kind == "syslog" and b"dropped" in chunk:
                        t.check(re.match(rb"<28>\w{3} [ \d]\d [\d:]{8} b2c-authy\[\d+\]: "
                                         rb"level=warn rid=- msg=", chunk) is not None,
                                "syslog: lines in syslog(3)'s format", repr(chunk))
                    text += chunk or b""
                except (BlockingIOError, TypeError):
                    pass
                healthz(sock)
                time.sleep(0.02)
            t.check(re.search(rb"level=warn rid=- msg=\"\d+ log lines dropped", text) is not None,
                    f"{kind}: read again, the log says how many lines were dropped",
                    text[-300:].decode(errors="replace"))
        finally:
            stop_process(p)
            reader.close()


def stop_process(p):
    """SIGTERM, then SIGKILL when p has not exited within 10 s (more under valgrind)."""
    p.terminate()
    try:
        p.wait(10 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def syslog_frames(conn, want, seconds):
    """NUL-framed lines read from a stream to syslog until one holds want (bytes)."""
    conn.settimeout(0.2)
    data, end = b"", time.monotonic() + seconds
    while want not in data and time.monotonic() < end:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data.split(b"\0")


def syslog_stream(t, work, base):
    """A syslog daemon that listens on a stream socket at /dev/log (as syslog(3) allows) gets
    the lines, each ended by a NUL, and again after it restarted."""
    if os.geteuid() != 0 or not shutil.which("unshare") or stack.wrapper():
        print("skipped: syslog stream (needs root and unshare, no wrapper)")
        return
    sock = os.path.join(work, "syslog-stream.sock")
    conf = stack.write_conf(work, "syslog-stream.conf", dict(base, listen=sock))
    devlog = os.path.join(work, "devlog-stream")
    olddev = os.path.join(work, "olddev-stream")
    os.makedirs(olddev, exist_ok=True)
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    daemon.bind(devlog)
    daemon.listen(4)
    daemon.settimeout(10 * SLOW)
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", SYSLOG_NS,
                          stack.BIN, conf, olddev, devlog], env=stack.child_env())
    try:
        stack.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10 * SLOW,
                       "the socket")
        try:
            conn = daemon.accept()[0]
        except socket.timeout:
            conn = None
        t.check(conn is not None, "syslog stream: the responder connects to it")
        if conn is None:
            return
        healthz(sock)
        frames = syslog_frames(conn, b"event=access", 5 * SLOW)
        first = frames[0] if frames else b""
        t.check(re.match(rb"<\d+>\w{3} [ \d]\d [\d:]{8} b2c-authy\[\d+\]: level=", first)
                is not None and len(frames) > 1,
                "syslog stream: lines in syslog(3)'s format, ended by a NUL", repr(frames[:2]))
        conn.close()  # the daemon restarts: its connection is gone, its socket listens again
        time.sleep(0.1)
        for _ in range(3):
            healthz(sock)
        try:
            conn = daemon.accept()[0]
        except socket.timeout:
            conn = None
        frames = syslog_frames(conn, b"event=access", 5 * SLOW) if conn else []
        t.check(any(b"event=access" in f for f in frames),
                "syslog stream: after the daemon restarted, lines reach it again",
                repr(frames[:2]))
        if conn is not None:
            conn.close()
    finally:
        stop_process(p)
        daemon.close()


def oversized_kept(t, work, base, certs):
    """A body over max_body_bytes gets its 413 before the rest of it has come. Under
    FCGI_KEEP_CONN (nginx then keeps the connection once it has sent the whole body) the
    rest is dropped by its records, also cut mid-record and with FCGI_GET_VALUES among
    them, and the next request on the connection is served; without it, the connection
    closes after the body."""
    r = stack.Responder(work, dict(base, max_body_bytes=1024), name="oversized")
    try:
        params = dict(stack.cert_params(certs, "client"), CONTENT_TYPE="application/json")
        chunk = stack._fcgi_record(stack.FCGI_STDIN, b"x" * 1000)
        for keep in (True, False):
            head = request_bytes("POST", e2e.REGISTER, keep, params=params,
                                 body=b"x" * 1000)[:-8]  # no end of stdin yet
            s = connect(r.sock)
            s.settimeout(5 * SLOW)
            s.sendall(head + chunk)
            first = read_reply(s)
            values = stack._fcgi_record(9, b"\x0e\x00FCGI_MAX_CONNS", req_id=0)
            rest = chunk * 3 + values + chunk + stack._fcgi_record(stack.FCGI_STDIN, b"")
            s.sendall(rest[:1500])
            time.sleep(0.2)
            s.sendall(rest[1500:] + request_bytes("GET", "/healthz", keep=False))
            if keep:
                recs = []
                try:
                    for rtype, _, content in stack.fcgi_records(s):
                        recs.append((rtype, content))
                        if rtype == stack.FCGI_END:
                            break
                except (ConnectionResetError, socket.timeout):
                    pass
                body = b"".join(c for rt, c in recs if rt == stack.FCGI_STDOUT)
                t.check(first is not None and first.status == 413 and
                        any(rt == 10 for rt, _ in recs) and
                        b"Status: 200" in body and b'"status":"ok"' in body,
                        "FCGI_KEEP_CONN: after a 413 the rest of the body is dropped and the "
                        "next request is served", f"{first!r} {recs!r}")
            else:
                t.check(first is not None and first.status == 413 and closed_within(s, 5 * SLOW),
                        "without FCGI_KEEP_CONN the connection closes after a 413",
                        repr(first))
            s.close()
        t.check(r.proc.poll() is None and healthz(r.sock).status == 200,
                "oversized bodies: the process lives and serves")
    finally:
        r.stop()


def padded(rtype, content, pad):
    """A record whose padding is the given bytes."""
    return struct.pack(">BBHHBx", 1, rtype, 1, len(content), len(pad)) + content + pad


def padded_records(t, work, base):
    r = stack.Responder(work, base, name="padding")
    try:
        env = stack.fcgi_env("GET", "/healthz")
        env.pop("PATH")
        params = stack._fcgi_params(env)
        fake = struct.pack(">BBHHBx", 1, stack.FCGI_PARAMS, 1, 4000, 0)
        for what, data in (
                ("BEGIN_REQUEST", padded(stack.FCGI_BEGIN, struct.pack(">HB5x", 1, 0), fake) +
                 params + stack._fcgi_record(stack.FCGI_STDIN, b"")),
                ("the end of the params", begin() + params[:-8] +
                 padded(stack.FCGI_PARAMS, b"", fake[:1] + bytes([stack.FCGI_STDIN]) +
                        fake[2:]) + stack._fcgi_record(stack.FCGI_STDIN, b""))):
            s = connect(r.sock)
            s.settimeout(3 * SLOW)
            s.sendall(data)
            reply = read_reply(s)
            s.close()
            t.check(reply is not None and reply.status == 200,
                    f"a record header in the padding of {what} is not read", repr(reply))
        # The end of stdin where libfcgi's first read (8 KiB) stops: its padding
        # (a request of its own) must not stay for the next request.
        env["HTTP_X_PAD"] = ""
        inject = begin() + stack._fcgi_record(stack.FCGI_PARAMS, b"\x0c\x08DOCUMENT_URI/metrics")
        data = b""
        for n in range(8184, 7680, -1):
            env["HTTP_X_PAD"] = "p" * n
            data = begin() + stack._fcgi_params(env)
            if len(data) + 8 == 8192:
                break
        t.check(len(data) + 8 == 8192, "the stdin end lands on 8 KiB", str(len(data)))
        s = connect(r.sock)
        s.sendall(data + padded(stack.FCGI_STDIN, b"", inject))
        first = read_reply(s)
        s.close()
        other = healthz(r.sock)
        t.check(first is not None and first.status == 200 and other.status == 200 and
                other.json == {"status": "ok"},
                "padding after the end of stdin does not reach the next request", repr(other))
        t.check(r.proc.poll() is None, "padding: the process lives")
    finally:
        r.stop()


def management_records(t, work, base):
    r = stack.Responder(work, dict(base, max_connections=100), name="mgmt")
    try:
        s = connect(r.sock)
        s.settimeout(3 * SLOW)
        get_values = b"".join(bytes([len(n), 0]) + n for n in (b"FCGI_MAX_CONNS",
                                                               b"FCGI_MPXS_CONNS"))
        s.sendall(stack._fcgi_record(9, get_values, req_id=0) +
                  stack._fcgi_record(42, b"x", req_id=0))
        recs = []
        for rec in stack.fcgi_records(s):
            recs.append(rec)
            if len(recs) == 2:
                break
        t.check(recs == [(10, 0, b"\x0e\x03FCGI_MAX_CONNS100\x0f\x01FCGI_MPXS_CONNS0"),
                         (11, 0, bytes([42]) + b"\0" * 7)],
                "FCGI_GET_VALUES and an unknown management record are answered", repr(recs))
        s.sendall(request_bytes("GET", "/healthz", keep=True))
        reply = read_reply(s)
        t.check(reply is not None and reply.status == 200,
                "the request after them is served", repr(reply))
        # Among a request's records, as the specification allows at any time.
        req = request_bytes("GET", "/healthz")
        s.sendall(req[:16] + stack._fcgi_record(9, get_values, req_id=0) + req[16:])
        recs = records_until(stack.fcgi_records(s), stack.FCGI_END, 1)
        t.check(recs[:1] == [(10, 0, b"\x0e\x03FCGI_MAX_CONNS100\x0f\x01FCGI_MPXS_CONNS0")] and
                stdout_of(recs, 1).status == 200,
                "FCGI_GET_VALUES among a request's records is answered, the request served",
                repr(recs))
        s.close()
        # FCGI_ABORT_REQUEST before the request is complete: FCGI_END_REQUEST, and a kept
        # connection carries the next request; another is closed after the answer.
        for keep in (True, False):
            s = connect(r.sock)
            s.settimeout(3 * SLOW)
            s.sendall(request_bytes("GET", "/healthz", keep=keep)[:16] +
                      stack._fcgi_record(2, b""))
            records = stack.fcgi_records(s)
            recs = records_until(records, stack.FCGI_END, 1)
            after = None
            if keep:
                s.sendall(request_bytes("GET", "/healthz", keep=True))
                after = stdout_of(records_until(records, stack.FCGI_END, 1), 1).status
            t.check(recs == [(stack.FCGI_END, 1, b"\0" * 8)] and
                    (after == 200 if keep else closed_within(s, 2 * SLOW)),
                    "FCGI_ABORT_REQUEST before the request is complete gets FCGI_END_REQUEST, "
                    + ("the kept connection serves the next request" if keep else
                       "then the connection closes"), f"{recs} {after}")
            s.close()
    finally:
        r.stop()


def abort_after_reply(t, work, base, certs):
    """FCGI_ABORT_REQUEST in the same write as a request on a kept connection that is answered
    at once (GET /healthz; a wait refused 409 before any call): the request has ended, so the
    abort is ignored: one reply with one FCGI_END_REQUEST, and the connection serves the next
    request. An abort of a request id the connection never carried is ignored too."""
    r = stack.Responder(work, base, name="abortended")
    try:
        s = connect(r.sock)
        s.settimeout(3 * SLOW)
        records = stack.fcgi_records(s)
        end = (stack.FCGI_END, 1, b"\0" * 8)
        for what, req, status in (
                ("GET /healthz", request_bytes("GET", "/healthz", keep=True), 200),
                ("a wait refused at once", wait_bytes(certs, "0123", "ended", keep=True), 409)):
            s.sendall(req + stack._fcgi_record(2, b""))
            recs = records_until(records, stack.FCGI_END, 1)
            s.sendall(request_bytes("GET", "/healthz", keep=True))
            nxt = records_until(records, stack.FCGI_END, 1)
            t.check(stdout_of(recs, 1).status == status and recs[-1:] == [end] and
                    all(rec[:2] == (stack.FCGI_STDOUT, 1) for rec in recs[:-1]) and
                    stdout_of(nxt, 1).status == 200 and nxt[-1:] == [end] and
                    all(rec[:2] == (stack.FCGI_STDOUT, 1) for rec in nxt[:-1]),
                    f"FCGI_ABORT_REQUEST in the write of {what}: one reply, one "
                    "FCGI_END_REQUEST, and the kept connection serves the next request",
                    f"{recs} {nxt}")
        s.sendall(stack._fcgi_record(2, b"", req_id=7))
        s.sendall(request_bytes("GET", "/healthz", keep=True))
        nxt = records_until(records, stack.FCGI_END, 1)
        t.check(stdout_of(nxt, 1).status == 200 and nxt[-1:] == [end] and
                all(rec[:2] == (stack.FCGI_STDOUT, 1) for rec in nxt[:-1]),
                "FCGI_ABORT_REQUEST of an unknown request id alone on a kept connection is "
                "ignored, and the connection serves the next request", repr(nxt))
        # Two requests in one write: the second began before the first was answered.
        s.sendall(request_bytes("GET", "/healthz", keep=True) * 2)
        first = records_until(records, stack.FCGI_END, 1)
        t.check(stdout_of(first, 1).status == 200 and s.recv(1) == b"" and
                "the next request began before the reply to this one" in r.log_text(),
                "a request sent before the reply to the one before: that one answered, the "
                "connection closed, and the log says why", repr(first))
        m = stack.fcgi(r.sock, "GET", "/metrics", {}, b"", None).body.decode()
        t.check('b2c_authy_connections_closed_total{reason="protocol"} 1' in m,
                "and it counts as a close for the protocol",
                [ln for ln in m.splitlines() if "connections_closed" in ln])
        s.close()
        t.check(r.proc.poll() is None and "protocol violation" not in r.log_text(),
                "an abort of an ended or unknown request is no protocol violation")
    except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
        t.check(False, "an abort of an ended or unknown request leaves the connection open",
                repr(e))
    finally:
        r.stop()


def forged_access_line(t, work, base):
    r = stack.Responder(work, base, name="forge")
    try:
        method = 'GET status=200 route=health x'
        path = '/nope" status=200 outcome="ok'
        reply = stack.fcgi_raw(r.sock, method, path, {"DOCUMENT_URI": path}, b"", None)
        t.check(reply.status == 404, "forged request answered 404", repr(reply))

        def access_lines():
            return [ln for ln in r.log_text().splitlines() if "event=access" in ln]
        # The line is written just after the reply goes out.
        end = time.monotonic() + 5
        while not access_lines() and time.monotonic() < end:
            time.sleep(0.05)
        lines = access_lines()
        f = logfmt(lines[-1]) if lines else {}
        t.check(f.get("method") == [method] and f.get("path") == [path] and
                f.get("status") == ["404"] and f.get("route") == ["other"] and
                f.get("outcome") == ["not_found"],
                "quotes and spaces in method and path stay inside their quoted fields",
                lines[-1] if lines else "no access line")
    finally:
        r.stop()


def main():
    t = stack.Counter()
    if not os.access(stack.BIN, os.X_OK) or not shutil.which("cgi-fcgi"):
        t.skip("responder binary or cgi-fcgi missing")
        return t.summary()
    e2e.load_messages()
    if raise_nofile() < 1500:
        t.skip("the open file limit is below 1500")
        return t.summary()
    work = stack.tempdir()
    mock = None
    try:
        certs = stack.make_certs(work)
        mock = stack.Mock(work, certs)
        tp = stack.thumbprints(certs)
        base = {"authy_api_key": stack.API_KEY, "authy_api_url": mock.url,
                "authy_ca_file": os.path.join(certs, "ca.pem"),
                "client_cert_thumbprints": tp["client"], "wait_budget_ms": BUDGET_MS,
                "poll_interval_ms": 200, "log_level": "info"}
        stalled_and_idle(t, work, base)
        deadline(t, work, base)
        hostile_params(t, work, base)
        connection_cap(t, work, base)
        keep_conn(t, work, base)
        not_reading(t, work, base)
        kept_wait(t, work, base, certs)
        abort_and_drain(t, work, base, certs)
        half_closed(t, work, base, certs)
        multiplexed(t, work, base, certs, mock)
        multiplexed_same_write(t, work, base, certs, mock)
        records_in_flight(t, work, base, certs, mock)
        drain_serves_arrived(t, work, base)
        shared_listener(t, work, base, certs)
        open_file_limit(t, work, base)
        log_sink_full(t, work, base)
        syslog_stream(t, work, base)
        forged_access_line(t, work, base)
        padded_records(t, work, base)
        management_records(t, work, base)
        abort_after_reply(t, work, base, certs)
        oversized_kept(t, work, base, certs)
    except Exception as e:  # a broken scenario is a failure, not a crash of the suite
        t.check(False, "robustness scenarios ran to the end", repr(e))
    finally:
        if mock is not None:
            mock.close()
        stack.remove_tempdir(work)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
