"""fcgi_client.py - a small asyncio FastCGI client (responder role) for the
benchmarks: many concurrent requests over a Unix socket without spawning a
process per request. Python 3 standard library only."""
import asyncio
import struct

FCGI_VERSION = 1
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7


def _record(rtype, req_id, content=b""):
    out = b""
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (-len(chunk)) % 8
        out += struct.pack(">BBHHBx", FCGI_VERSION, rtype, req_id, len(chunk), pad) + chunk
        out += b"\0" * pad
        if not content:
            break
    return out


def _nv(name, value):
    def ln(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    n, v = name.encode(), value.encode()
    return ln(len(n)) + ln(len(v)) + n + v


async def request(sock_path, params, body=b"", timeout=60):
    """One request; returns (http_status, body_bytes)."""
    reader, writer = await asyncio.open_unix_connection(sock_path)
    try:
        params = dict(params, CONTENT_LENGTH=str(len(body)))
        payload = b"".join(_nv(k, v) for k, v in params.items())
        msg = _record(BEGIN, 1, struct.pack(">HB5x", 1, 0))
        msg += _record(PARAMS, 1, payload) + _record(PARAMS, 1)
        if body:
            msg += _record(STDIN, 1, body)
        msg += _record(STDIN, 1)
        writer.write(msg)
        await writer.drain()
        out = b""
        while True:
            head = await asyncio.wait_for(reader.readexactly(8), timeout)
            _, rtype, _, clen, plen = struct.unpack(">BBHHBx", head)
            content = await reader.readexactly(clen + plen)
            if rtype == STDOUT:
                out += content[:clen]
            elif rtype == END:
                break
        head, _, rest = out.partition(b"\r\n\r\n")
        status = 200
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"status:"):
                status = int(line.split()[1])
        return status, rest
    finally:
        writer.close()
