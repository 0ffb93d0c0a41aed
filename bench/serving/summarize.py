"""Turns results.tsv (one line per wrk run) into Markdown tables with the median and range of
requests/s over the passes, and the ratios the goals ask for."""
import collections
import statistics
import sys

rows = collections.defaultdict(list)
rss = {}
for line in open(sys.argv[1]):
    kind, *fields = line.rstrip("\n").split("\t")
    if kind == "wrk":
        server, model, conc, rps, p50, p99, errors = fields
        rows[(server, model, int(conc))].append((float(rps), p50, p99, int(errors)))
    elif kind == "rss":
        rss[fields[0]] = fields[1]

def median(key):
    return statistics.median(r[0] for r in rows[key]) if key in rows else None

print("| server | model | conc. | req/s median (min-max) | p50 | p99 | failed | RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for key in sorted(rows, key=lambda k: (k[1], k[0], k[2])):
    runs = rows[key]
    values = [r[0] for r in runs]
    mid = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    print(f"| {key[0]} | {key[1]} | {key[2]} | {median(key):,.0f} ({min(values):,.0f}-{max(values):,.0f}) "
          f"| {mid[1]} | {mid[2]} | {sum(r[3] for r in runs)} | {rss.get(key[0], '')} |")

print()
print("Ratios at concurrency 64 (medians):")
for model in ("small", "large"):
    ours = median(("caravan-json", model, 64))
    for other in ("fastapi", "mlserver-pw1", "mlserver-pw0", "acumos-runner-w1", "acumos-runner-w2"):
        theirs = median((other, model, 64))
        if ours and theirs:
            print(f"- {model}: Caravan JSON / {other} = {ours / theirs:.1f}x")
on, off = median(("caravan-json", "large", 64)), median(("caravan-json-nobatch", "large", 64))
if on and off:
    print(f"- large, batch-1 clients: batching on / off = {on / off:.2f}x")
