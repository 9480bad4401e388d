"""A small keep-alive HTTP/1.1 load client on asyncio streams: little client CPU per request, bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def set_cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.headers:
            if k == "set-cookie":
                c: SimpleCookie = SimpleCookie()
                c.load(v)
                out.update({name: m.value for name, m in c.items()})
        return out


class Connection:
    """One persistent connection to 127.0.0.1; requests are sent one after another on it."""

    def __init__(self, host: str, port: int) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("benchmarks only talk to 127.0.0.1")
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None

    async def request(self, method: str, path: str, headers: Sequence[tuple[str, str]] = (),
                      body: bytes = b"") -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: egov-bench/1"]
        head += [f"{k}: {v}" for k, v in headers]
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                hdrs.append((k.strip().lower(), v.strip()))
        resp = Response(status, hdrs, b"")
        te = resp.header("transfer-encoding")
        if te and "chunked" in te.lower():
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            resp.body = b"".join(chunks)
        else:
            resp.body = await self.reader.readexactly(int(resp.header("content-length") or 0))
        if (resp.header("connection") or "").lower() == "close":
            await self.close()
        return resp


@dataclass
class Session:
    """Cookies kept by hand: the production profile marks them Secure, which a browser would keep off
    plain HTTP; on 127.0.0.1 the benchmark sends them anyway."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def cookie_header(self) -> list[tuple[str, str]]:
        return [("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))] if self.cookies else []

    async def call(self, conn: Connection, method: str, path: str, *, form: dict[str, str] | None = None,
                   headers: Sequence[tuple[str, str]] = ()) -> Response:
        hdrs = list(headers) + self.cookie_header()
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
        resp = await conn.request(method, path, hdrs, body)
        self.cookies.update(resp.set_cookies())
        return resp


@dataclass
class LoadResult:
    latencies_ms: list[float]
    elapsed_s: float
    errors: int
    statuses: dict[int, int]
    bytes_received: int
    items: int  # sum of what `check` returned (e.g. result rows)


async def _run_load(host: str, port: int, paths: Sequence[str], headers: Sequence[tuple[str, str]],
                    concurrency: int, check: Callable[[Response], int] | None, deadline_s: float) -> LoadResult:
    conns = [Connection(host, port) for _ in range(concurrency)]
    for c in conns:
        await c.open()
    lat: list[float] = []
    statuses: dict[int, int] = {}
    state = {"next": 0, "errors": 0, "bytes": 0, "items": 0}
    stop_at = time.perf_counter() + deadline_s

    async def worker(conn: Connection) -> None:
        while True:
            i = state["next"]
            if i >= len(paths) or time.perf_counter() > stop_at:
                return
            state["next"] = i + 1
            t0 = time.perf_counter()
            resp = await conn.request("GET", paths[i], headers)
            lat.append((time.perf_counter() - t0) * 1000.0)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            state["bytes"] += len(resp.body)
            if resp.status != 200:
                state["errors"] += 1
            elif check is not None:
                state["items"] += check(resp)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    return LoadResult(lat, time.perf_counter() - t0, state["errors"], statuses, state["bytes"], state["items"])


def run_load(host: str, port: int, paths: Sequence[str], *, headers: Sequence[tuple[str, str]] = (),
             concurrency: int = 1, check: Callable[[Response], int] | None = None,
             deadline_s: float = 120.0) -> LoadResult:
    """GET every path once, `concurrency` connections at a time, stopping early after `deadline_s`."""
    try:
        import uvloop

        return uvloop.run(_run_load(host, port, paths, headers, concurrency, check, deadline_s))
    except ImportError:
        return asyncio.run(_run_load(host, port, paths, headers, concurrency, check, deadline_s))
