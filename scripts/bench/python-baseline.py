"""Python baselines for scripts/bench/engine.ts: Tornado's AsyncHTTPClient (the engine of the 2013
design) and aiohttp, against the same loopback bench server.

  python3 python-baseline.py rps    tornado|aiohttp BASE CONCURRENCY DURATION_MS
  python3 python-baseline.py parked tornado|aiohttp BASE POLLS

Prints one JSON line: {"rps", "cpu_us"} or {"rss_mb_per_1k"}. Exits 3 when the library is missing.
"""
import asyncio
import json
import resource
import sys
import time

WARM = 200


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Tornado:
    def __init__(self, max_clients):
        from tornado.httpclient import AsyncHTTPClient

        # The simple client queues beyond max_clients (default 10): one slot per loop or poll.
        AsyncHTTPClient.configure(None, max_clients=max_clients)
        self.http = AsyncHTTPClient()

    async def get(self, url, timeout=600.0):
        res = await self.http.fetch(url, request_timeout=timeout, connect_timeout=60.0)
        return res.body

    async def close(self):
        self.http.close()


class Aiohttp:
    def __init__(self, max_clients):
        import aiohttp

        self.aiohttp = aiohttp
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_clients),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def get(self, url, timeout=600.0):
        async with self.session.get(url) as res:
            return await res.read()

    async def close(self):
        await self.session.close()


def client(name, max_clients):
    return Tornado(max_clients) if name == "tornado" else Aiohttp(max_clients)


async def rps(name, base, concurrency, duration_ms):
    c = client(name, concurrency)
    url = base + "/fast"

    async def run(ms):
        n = 0
        stop_at = time.monotonic() + ms / 1000

        async def loop():
            nonlocal n
            while time.monotonic() < stop_at:
                json.loads(await c.get(url))
                n += 1

        t0 = time.monotonic()
        cpu0 = cpu_seconds()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return n, time.monotonic() - t0, cpu_seconds() - cpu0

    await run(300)  # warm-up: connections
    n, elapsed, cpu = await run(duration_ms)
    await c.close()
    return {"rps": n / elapsed, "cpu_us": cpu * 1e6 / max(n, 1)}


async def parked(name, base, polls):
    c = client(name, polls + WARM + 16)
    rearmed = 0

    async def park():
        nonlocal rearmed
        while True:
            try:
                await c.get(base + "/poll")
            except Exception:
                return
            rearmed += 1

    async def parked_reach(count):
        while int(await c.get(base + "/parked", 30.0)) < count:
            await asyncio.sleep(0.05)

    await c.get(base + "/fast", 30.0)
    tasks = [asyncio.ensure_future(park()) for _ in range(WARM)]
    for cycle in range(1, 4):  # warm-up cycles, as the Node workers do
        await parked_reach(WARM)
        await c.get(base + "/release", 30.0)
        while rearmed < WARM * cycle:
            await asyncio.sleep(0.01)
    await parked_reach(WARM)
    await asyncio.sleep(0.1)
    base_rss = rss_bytes()
    tasks += [asyncio.ensure_future(park()) for _ in range(polls)]
    await parked_reach(WARM + polls)
    await asyncio.sleep(0.1)
    grown = rss_bytes() - base_rss
    return {"rss_mb_per_1k": grown / 1048576 / (polls / 1000)}


def main():
    mode, name, base = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        __import__("tornado.httpclient" if name == "tornado" else "aiohttp")
    except ImportError:
        print(f"{name} is not installed for {sys.executable}", file=sys.stderr)
        sys.exit(3)
    if mode == "rps":
        out = asyncio.run(rps(name, base, int(sys.argv[4]), int(sys.argv[5])))
    else:
        out = asyncio.run(parked(name, base, int(sys.argv[4])))
    print(json.dumps(out), flush=True)
    # Parked polls are still open: leave without tearing them down one by one.
    import os

    os._exit(0)


main()
