"""bench.py - figures for b2c-authy on loopback, printed as a table.

1. Throughput: register requests/s at concurrency 64 (wrk) through nginx ->
   responder -> mock Authy, next to nginx proxying the same call straight to the
   mock (the limit), and their ratio.
2. Holding waits: N concurrent waits (default 10000) on distinct approvals,
   sent straight to the responder's socket by an asyncio FastCGI client; the
   responder's RSS per pending wait, threads, and the upstream connections the
   mock saw.
3. Approval-to-response latency: with polling (poll_interval_ms) and with a
   signed callback.

Usage: python3 bench/bench.py [--waits N] [--skip-throughput]
Needs nginx, wrk, cgi-fcgi-free (uses its own client). Results also go to
bench/results/latest.txt.
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "mock"))
sys.path.insert(0, HERE)
import fcgi_client  # noqa: E402
import stack  # noqa: E402

CALLBACK_URL = "https://b2c.example.com/api/authy/callback"
rows = []


def row(what, value, target=""):
    rows.append((what, value, target))
    print(f"  {what}: {value}  {target}", flush=True)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def fparams(path, method="POST"):
    return {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "REQUEST_URI": path,
            "CONTENT_TYPE": "application/json"}


async def register(sock, email, phone):
    st, body = await fcgi_client.request(sock, fparams("/api/identity/register"),
                                         json.dumps({"email": email,
                                                     "phoneNumber": phone}).encode())
    return json.loads(body)["authyId"]


# ---- 1. throughput ----

NGINX_CONF = """
user root;
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    fastcgi_temp_path {work}/fastcgi;
    proxy_temp_path {work}/proxy;
    upstream authy {{ server 127.0.0.1:{mock_port}; keepalive 32; }}
    upstream responder {{ server unix:{sock}; }}
    server {{
        listen 127.0.0.1:{port_resp} backlog=4096;
        location = /api/identity/register {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param DOCUMENT_URI $document_uri;
            fastcgi_param SSL_CLIENT_VERIFY SUCCESS;
            fastcgi_param SSL_CLIENT_FINGERPRINT {thumb};
            fastcgi_pass responder;
        }}
    }}
    server {{
        listen 127.0.0.1:{port_direct} backlog=4096;
        location = /protected/json/users/new {{
            proxy_pass https://authy;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Authy-API-Key "{key}";
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
        }}
    }}
}}
"""

WRK_LUA = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "{ctype}"
"""


def wrk(url, body, ctype, work, name, seconds):
    lua = os.path.join(work, f"{name}.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA.format(body=body, ctype=ctype))
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", lua, url],
                         capture_output=True, text=True).stdout
    rps = next((float(x.split()[1]) for x in out.splitlines() if x.startswith("Requests/sec")),
               0.0)
    non2xx = next((x.split(":")[1].strip() for x in out.splitlines() if "Non-2xx" in x), "0")
    p99 = next((x.split()[1] for x in out.splitlines() if x.strip().startswith("99%")), "?")
    return rps, non2xx, p99


def throughput(work, certs, mock, seconds):
    if not shutil.which("nginx") or not shutil.which("wrk"):
        row("throughput", "skipped (nginx or wrk missing)")
        return
    thumb = stack.thumbprints(certs)["client"]
    resp = stack.Responder(work, {"authy_api_key": stack.API_KEY, "authy_api_url": mock.url,
                                  "authy_ca_file": os.path.join(certs, "ca.pem"),
                                  "client_cert_thumbprints": thumb,
                                  # the bench's nginx passes a bare fingerprint (no dates)
                                  "client_cert_allow_no_dates": "true",
                                  "log_level": "warn"}, name="tput")
    p1, p2 = stack.free_port(), stack.free_port()
    for d in ("body", "fastcgi", "proxy"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, mock_port=mock.port, sock=resp.sock, thumb=thumb,
                                  port_resp=p1, port_direct=p2, key=stack.API_KEY,
                                  ca=os.path.join(certs, "ca.pem")))
    subprocess.run(["nginx", "-c", conf], check=True)
    try:
        time.sleep(0.5)
        body_json = '{"email":"bench@example.com","phoneNumber":"+1 415 555 0100"}'
        body_form = "user%5Bemail%5D=bench%40example.com&user%5Bcellphone%5D=4155550100" \
                    "&user%5Bcountry_code%5D=1"
        wrk(f"http://127.0.0.1:{p1}/api/identity/register", body_json, "application/json",
            work, "warm", 2)
        d_rps, d_bad, d_p99 = wrk(f"http://127.0.0.1:{p2}/protected/json/users/new",
                                  body_form, "application/x-www-form-urlencoded", work,
                                  "direct", seconds)
        r_rps, r_bad, r_p99 = wrk(f"http://127.0.0.1:{p1}/api/identity/register", body_json,
                                  "application/json", work, "resp", seconds)
        row("register req/s via responder (c=64)", f"{r_rps:.0f} (non-2xx {r_bad}, p99 {r_p99})")
        row("register req/s nginx straight to mock (c=64)",
            f"{d_rps:.0f} (non-2xx {d_bad}, p99 {d_p99})")
        row("ratio responder / direct", f"{r_rps / d_rps:.2f}" if d_rps else "n/a",
            "(1.00 = no overhead over the upstream limit)")
    finally:
        subprocess.run(["nginx", "-c", conf, "-s", "quit"])
        time.sleep(0.5)
        resp.stop()


# ---- 2. holding many waits ----

async def hold_waits(resp, mock, n, users):
    ids = [await register(resp.sock, f"never+h{i}@example.com", f"+1 303 555 {i:04d}")
           for i in range(users)]
    base_rss, base_thr = rss_kib(resp.proc.pid), threads(resp.proc.pid)
    before = mock.call("GET", "/_mock/stats")
    results = []
    t0 = time.monotonic()

    async def one(i):
        body = json.dumps({"authyId": ids[i % users], "signInName": f"hold{i}",
                           "correlationId": f"cid-hold{i}"}).encode()
        try:
            st, _ = await fcgi_client.request(resp.sock, fparams("/api/identity/waitforauthyapproval"),
                                              body, timeout=90)
        except Exception as e:  # noqa: BLE001 - counted as lost
            st = repr(e)[:40]
        results.append(st)

    tasks = []
    for i in range(n):
        tasks.append(asyncio.ensure_future(one(i)))
        if i % 500 == 499:
            await asyncio.sleep(0.25)
    peak_waiting, peak_rss, peak_thr = 0, 0, 0
    while len(results) < n and time.monotonic() - t0 < 120:
        await asyncio.sleep(1)
        st, body = await fcgi_client.request(resp.sock, fparams("/metrics", "GET"))
        waiting = next((int(x.split()[1]) for x in body.decode().splitlines()
                        if x.startswith("b2c_authy_waiting_requests ")), 0)
        if waiting > peak_waiting:
            peak_waiting = waiting
            peak_rss, peak_thr = rss_kib(resp.proc.pid), threads(resp.proc.pid)
    await asyncio.gather(*tasks)
    after = mock.call("GET", "/_mock/stats")
    answered = sum(1 for r in results if isinstance(r, int))
    statuses = {}
    for r in results:
        statuses[r] = statuses.get(r, 0) + 1
    row("concurrent waits held (peak, from /metrics)", peak_waiting, f"(sent {n}; target 10000)")
    in_flight = max(peak_thr - base_thr, 1)
    row("responder RSS per pending wait",
        f"{(peak_rss - base_rss) / max(peak_waiting, in_flight):.1f} KiB "
        f"(RSS {base_rss} -> {peak_rss} KiB, threads {base_thr} -> {peak_thr})",
        "(target <= 32 KiB)")
    row("waits answered / lost", f"{answered} / {n - answered}  statuses {statuses}")
    row("upstream connections opened during the hold",
        after["connections_opened"] - before["connections_opened"],
        "(bound: upstream_connections)")


# ---- 3. latency ----

async def latency(resp, mock, mode, samples):
    aid = await register(resp.sock, f"never+lat{mode}@example.com", "+1 720 555 0199")
    lat = []
    for i in range(samples):
        body = json.dumps({"authyId": aid, "signInName": f"lat-{mode}-{i}",
                           "correlationId": f"cid-lat-{mode}-{i}"}).encode()
        task = asyncio.ensure_future(fcgi_client.request(
            resp.sock, fparams("/api/identity/waitforauthyapproval"), body, timeout=40))
        uuid = None
        while uuid is None:
            await asyncio.sleep(0.05)
            reqs = [a for a in mock.approvals(aid) if a["details"].get("Sign-in name") ==
                    f"lat-{mode}-{i}"]
            uuid = reqs[0]["uuid"] if reqs else None
        await asyncio.sleep(0.137 * (i % 7))  # spread approvals over the poll phase
        t0 = time.monotonic()
        mock.call("POST", f"/_mock/approval_requests/{uuid}/approve")
        if mode == "callback":
            cb = [c for c in mock.callbacks() if uuid in c["body"]][0]
            params = dict(fparams(resp_path := "/api/authy/callback"),
                          HTTP_X_AUTHY_SIGNATURE=cb["headers"]["X-Authy-Signature"],
                          HTTP_X_AUTHY_SIGNATURE_NONCE=cb["headers"]["X-Authy-Signature-Nonce"],
                          HTTP_HOST="b2c.example.com", DOCUMENT_URI=resp_path)
            await fcgi_client.request(resp.sock, params, cb["body"].encode())
        st, _ = await task
        lat.append((time.monotonic() - t0) * 1000)
        assert st == 200, st
    return lat


def lat_row(name, lat, target):
    lat.sort()
    row(name, f"median {statistics.median(lat):.0f} ms, max {lat[-1]:.0f} ms (n={len(lat)})",
        target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--waits", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = stack.tempdir()
    certs = stack.make_certs(work)
    mock = stack.Mock(work, certs, extra=["--callback-url", CALLBACK_URL])
    base = {"authy_api_key": stack.API_KEY, "authy_api_url": mock.url,
            "authy_ca_file": os.path.join(certs, "ca.pem"), "client_cert_check": "false",
            "log_level": "warn", "callback_url": CALLBACK_URL}
    try:
        print("== throughput")
        if not args.skip_throughput:
            throughput(work, certs, mock, args.seconds)
        print("== holding waits")
        # Polls are not what this measures and the Python mock is the bottleneck:
        # poll at the longest interval so that every approval is created in time.
        resp = stack.Responder(work, dict(base, wait_budget_ms=29000, poll_interval_ms=10000,
                                          max_waits=args.waits + 500, approval_ttl_s=300,
                                          listen_backlog=4096, max_pushes_per_user=1000,
                                          max_connections=args.waits + 500),
                               name="hold")
        asyncio.run(hold_waits(resp, mock, args.waits, 100))
        resp.stop(60)
        print("== latency")
        for mode, interval in (("poll", 1000), ("callback", 5000)):
            resp = stack.Responder(work, dict(base, poll_interval_ms=interval,
                                              wait_budget_ms=25000, max_pushes_per_user=100),
                                   name=f"lat-{mode}")
            lat = asyncio.run(latency(resp, mock, mode, 21))
            if mode == "poll":
                lat_row(f"approval -> response, polling every {interval} ms", lat,
                        f"(target max <= {interval + 20} ms)")
            else:
                lat_row("approval -> response, signed callback", lat, "(target <= 20 ms)")
            resp.stop()
    finally:
        mock.close()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.txt"), "w") as f:
        for what, value, target in rows:
            f.write(f"| {what} | {value} | {target} |\n")
    print("\n| measure | result | target |\n| --- | --- | --- |")
    for what, value, target in rows:
        print(f"| {what} | {value} | {target} |")


if __name__ == "__main__":
    main()
