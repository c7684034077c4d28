"""A small closed-loop HTTP/1.1 load generator (asyncio, keep-alive), run as its own process.

    python bench/loadgen.py --url http://127.0.0.1:8000/api/v1/password-resets \
        --json '{"email": "u{n}@bench.example.com"}' --users 2000 --connections 16 --duration 8

Each of --connections clients keeps one connection open and sends its next request as soon
as the previous answer is read. `{n}` in the body is the request number modulo --users and
`{i}` the request number. With --xff-ips N every request carries an X-Forwarded-For address
from a list of N (request i uses address i mod N), and the answer counts are reported per
address. A connection that fails (refused, reset, closed without an answer, timeout) is
counted in `errors` and reopened. Prints one JSON object.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit


def proxy_ips(count):
    """Distinct addresses from 198.18.0.0/15 (reserved for benchmarks; used only as header text)."""
    return [f"198.18.{i // 250}.{i % 250 + 1}" for i in range(count)]


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


class Load:
    def __init__(self, args):
        url = urlsplit(args.url)
        self.host, self.port = url.hostname, url.port or 80
        self.path = url.path + (f"?{url.query}" if url.query else "")
        self.method = args.method or ("POST" if args.json else "GET")
        self.template = args.json
        self.users = args.users
        self.ips = proxy_ips(args.xff_ips) if args.xff_ips else None
        self.total = args.requests
        self.duration = args.duration
        self.timeout = args.timeout
        self.extra_headers = "".join(f"{h}\r\n" for h in args.header)
        self.next_index = 0
        self.latencies = []
        self.statuses = Counter()
        self.errors = Counter()
        self.per_ip = defaultdict(Counter)
        self.deadline = None

    def take(self):
        if self.total is not None and self.next_index >= self.total:
            return None
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return None
        index = self.next_index
        self.next_index += 1
        return index

    def build(self, index):
        headers = f"{self.method} {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n" \
                  f"User-Agent: authsvc-bench\r\nAccept: */*\r\n{self.extra_headers}"
        ip = None
        if self.ips:
            ip = self.ips[index % len(self.ips)]
            headers += f"X-Forwarded-For: {ip}\r\n"
        body = b""
        if self.template is not None:
            body = self.template.replace("{n}", str(index % self.users)).replace("{i}", str(index)).encode()
            headers += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (headers + "\r\n").encode() + body, ip

    async def read_response(self, reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _sep, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length is not None:
            await reader.readexactly(length)
        else:
            await reader.read()
            close = True
        return status, close

    async def client(self):
        reader = writer = None
        index = self.take()
        while index is not None:
            request, ip = self.build(index)
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(self.host, self.port), self.timeout)
                started = time.perf_counter()
                writer.write(request)
                status, close = await asyncio.wait_for(self.read_response(reader), self.timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                    asyncio.LimitOverrunError, ValueError) as exc:
                self.errors[type(exc).__name__] += 1
                if ip:
                    self.per_ip[ip]["error"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                index = self.take()
                continue
            self.latencies.append(time.perf_counter() - started)
            self.statuses[status] += 1
            if ip:
                self.per_ip[ip][status] += 1
            if close:
                writer.close()
                reader = writer = None
            index = self.take()
        if writer is not None:
            writer.close()

    async def run(self, connections):
        started = time.perf_counter()
        if self.duration:
            self.deadline = started + self.duration
        await asyncio.gather(*(self.client() for _ in range(connections)))
        elapsed = time.perf_counter() - started
        latencies = sorted(self.latencies)
        ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
        result = {
            "tool": "bench/loadgen.py (asyncio)",
            "connections": connections,
            "requests": len(latencies),
            "seconds": round(elapsed, 3),
            "rps": round(len(latencies) / elapsed, 1) if elapsed else None,
            "p50_ms": ms(percentile(latencies, 0.50)),
            "p90_ms": ms(percentile(latencies, 0.90)),
            "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(latencies[-1] if latencies else None),
            "mean_ms": ms(statistics.fmean(latencies)) if latencies else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
        }
        if self.ips:
            result["per_ip"] = {ip: {str(k): v for k, v in counts.items()}
                                for ip, counts in self.per_ip.items()}
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method")
    parser.add_argument("--json", help="request body template ({n}, {i})")
    parser.add_argument("--header", action="append", default=[], help="extra 'Name: value'")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--xff-ips", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.duration is None and args.requests is None:
        parser.error("give --duration or --requests")
    load = Load(args)
    result = asyncio.run(load.run(args.connections))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
