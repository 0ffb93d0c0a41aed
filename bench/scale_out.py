"""Measurements of bench/scale-out.sh that need finer timing than curl in a loop.

  moves TOKEN A B [B ...]   moves the alias `champion` of model `affine` between versions 1 and 2
                            through replica A (MOVES times) and times, for each move, how long
                            until every other replica's V2 answer names the new version;
                            prints p50/p99/max in ms
  probe URL SECONDS FILE    asks URL (a V2 inference through the balancer) every 10 ms for
                            SECONDS and writes "t status latency_ms" lines to FILE
  outage FILE START         from a probe's FILE and the time the fault started (in the probe's
                            clock): requests that failed, the failed window, time to recovery
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

BODY = json.dumps(
    {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
)


class Replica:
    """One keep-alive connection to a replica (reopened if the replica closes it)."""

    def __init__(self, url, token):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def champion(self):
        status, body = self.request("POST", "/v2/models/affine/versions/champion/infer", BODY)
        return json.loads(body).get("model_version") if status == 200 else None


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def moves(token, writer_url, *reader_urls):
    count = int(os.environ.get("MOVES", "100"))
    writer = Replica(writer_url, token)
    readers = [Replica(url, token) for url in reader_urls]
    took = []
    for i in range(count):
        target = str(2 if i % 2 == 0 else 1)
        started = time.perf_counter()
        status, body = writer.request(
            "PUT", "/api/v1/models/affine/aliases/champion", json.dumps({"version": int(target)})
        )
        assert status == 200, (status, body)
        pending = list(readers)
        while pending:
            pending = [r for r in pending if r.champion() != target]
            if time.perf_counter() - started > 10:
                sys.exit(f"move {i} to {target} not served within 10 s")
        took.append((time.perf_counter() - started) * 1000)
    print(
        f"alias moves: {count}, every other replica serving the new version after "
        f"p50 {percentile(took, 0.5):.1f} ms, p99 {percentile(took, 0.99):.1f} ms, "
        f"max {max(took):.1f} ms"
    )


def probe(url, seconds, path):
    parsed = urllib.parse.urlsplit(url)
    token = os.environ["TOKEN"]
    replica = Replica(f"http://{parsed.hostname}:{parsed.port}", token)
    end = time.time() + float(seconds)
    with open(path, "w") as out:
        while time.time() < end:
            started = time.time()
            try:
                status, _ = replica.request("POST", parsed.path, BODY)
            except (http.client.HTTPException, OSError):
                status = 0
            out.write(f"{started:.3f} {status} {(time.time() - started) * 1000:.1f}\n")
            time.sleep(max(0.0, 0.01 - (time.time() - started)))


def outage(path, start):
    start = float(start)
    rows = [line.split() for line in open(path)]
    rows = [(float(t), int(s), float(ms)) for t, s, ms in rows]
    failed = [r for r in rows if r[1] != 200]
    statuses = {}
    for _, status, _ in failed:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"probe requests: {len(rows)}, failed {len(failed)} {dict(sorted(statuses.items()))}")
    if failed:
        first, last = failed[0][0], failed[-1][0]
        recovered = next((t for t, s, _ in rows if t > last and s == 200), None)
        print(
            f"failures from {first - start:+.2f} s to {last - start:+.2f} s after the fault; "
            f"first success after the last failure at {recovered - start:+.2f} s"
            if recovered
            else "never recovered"
        )
    print(f"slowest probe answer: {max(ms for _, _, ms in rows):.0f} ms")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"moves": moves, "probe": probe, "outage": outage}[command](*args)
