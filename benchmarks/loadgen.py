"""A lean HTTP/1.1 load generator on asyncio (uvloop when installed), loopback only.

Why not httpx: on a 2-core machine the client shares the CPU with the server, and a general-purpose
client spends several times more CPU per request than this one, which would understate the server.
It speaks just what Nabij's server answers with: Content-Length or chunked bodies, keep-alive.

Two ways to drive the server:
- `closed_loop`: C connections, each sending its next request as soon as the previous one is
  answered (throughput at a fixed concurrency);
- `open_loop`: requests sent at scheduled times whatever the answers do, latency counted from the
  scheduled time (so a slow server cannot hide its queue: no coordinated omission).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 30.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Called with (status, headers, body) once answered; returns an error text, or None when fine.
    check: Callable[[int, dict[str, str], bytes], str | None] | None = None


@dataclass
class Result:
    latency: float  # seconds
    status: int
    queries: int | None
    error: str | None
    worker: str | None = None
    size: int = 0


# Keep-alive connections are reopened after this many requests, as browsers and load balancers
# recycle theirs. With several workers sharing one listening socket, the worker that accepts a new
# connection serves all its requests; reopening lets the idle worker take its share, where eight
# connections opened at once might otherwise all land on one.
REQUESTS_PER_CONNECTION = 25


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.used = 0

    async def send(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if self.used >= REQUESTS_PER_CONNECTION:
            self.close()
        self.used += 1
        reused = self.writer is not None
        try:
            return await self._send(request)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as error:
            # The server closed an idle keep-alive connection (as uvicorn does after a 500): like a
            # browser, send once more on a new connection, but only if nothing had been answered.
            self.close()
            if not reused or (isinstance(error, asyncio.IncompleteReadError) and error.partial):
                raise
            return await self._send(request)

    async def _send(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self._open()
        lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.body or request.method == "POST":
            lines.append(f"Content-Length: {len(request.body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "set-cookie" and name in headers:
                headers[name] += "\n" + value.strip()
            else:
                headers[name] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(chunk[:-2] for chunk in chunks)
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    async def timed(self, request: Request, started: float | None = None) -> Result:
        started = time.perf_counter() if started is None else started
        try:
            status, headers, body = await asyncio.wait_for(self.send(request), REQUEST_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            self.close()
            return Result(time.perf_counter() - started, 0, None, f"{type(error).__name__}")
        latency = time.perf_counter() - started
        error = None
        if status >= 400:
            error = f"HTTP {status}"
        if request.check is not None and error is None:
            error = request.check(status, headers, body)
        queries = headers.get("x-query-count")
        return Result(
            latency,
            status,
            int(queries) if queries and queries.isdigit() else None,
            error,
            headers.get("x-nabij-worker"),
            len(body),
        )


async def _closed_loop(
    host: str,
    port: int,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    think: float = 0.0,
) -> tuple[list[Result], float]:
    results: list[Result] = []
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def client(index: int) -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                result = await connection.timed(make(index))
                # Every request answered after the warm-up counts, also one sent during it: a slow
                # server must not hide its slowest answers in the warm-up.
                if time.perf_counter() >= measure_from:
                    results.append(result)
                if think:
                    await asyncio.sleep(think * random.uniform(0.8, 1.2))
        finally:
            connection.close()

    if think:  # the clients start spread over one pause, not all at once

        async def staggered(index: int) -> None:
            await asyncio.sleep(random.uniform(0, think))
            await client(index)

        await asyncio.gather(*(staggered(i) for i in range(concurrency)))
    else:
        await asyncio.gather(*(client(i) for i in range(concurrency)))
    return results, max(time.perf_counter() - measure_from, 1e-9)


def closed_loop(
    host: str,
    port: int,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    warmup: float = 1.0,
    think: float = 0.0,
) -> tuple[list[Result], float]:
    """Each of `concurrency` clients sends a request, waits for the answer (and `think` seconds), and
    so on. Returns the requests answered after the warm-up, and the measured seconds."""
    return _run(_closed_loop(host, port, make, concurrency=concurrency, duration=duration, warmup=warmup, think=think))


async def _open_loop(
    host: str, port: int, schedule: list[tuple[float, Callable[[], Request]]], *, connections: int
) -> list[Result]:
    results: list[Result] = []
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    base = time.perf_counter() + 0.2

    async def fire(at: float, make: Callable[[], Request]) -> None:
        scheduled = base + at
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        connection = await pool.get()  # waiting for a free connection counts in the latency
        try:
            results.append(await connection.timed(make(), started=scheduled))
        finally:
            pool.put_nowait(connection)

    await asyncio.gather(*(fire(at, make) for at, make in schedule))
    while not pool.empty():
        pool.get_nowait().close()
    return results


def open_loop(
    host: str, port: int, schedule: list[tuple[float, Callable[[], Request]]], *, connections: int = 256
) -> list[Result]:
    return _run(_open_loop(host, port, schedule, connections=connections))


def _run(coroutine):
    if uvloop is not None:
        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def jitter(seed: int) -> random.Random:
    return random.Random(seed)
