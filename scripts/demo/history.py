#!/usr/bin/env python3
"""Deterministic demo history as OpenMetrics, for `thanos-tools tsdb create-blocks-from openmetrics`.

A small web service ("demo-app", four instances) over the last few days: request counters by
handler/method/code with a daily cycle (and one instance restart, so counters reset once), a
latency histogram, CPU, memory and queue gauges. The same seed gives the same samples, so two
Prometheus replicas backfilled from it hold identical history, which Thanos deduplicates.

Usage: history.py OUT --end UNIX_SECONDS [--days 3] [--step 60]
"""
import argparse
import math
import random

INSTANCES = [f"app-{i}" for i in range(4)]
HANDLERS = ["/", "/api/orders", "/api/users"]
METHODS = ["GET", "POST"]
CODES = ["200", "404", "500"]
CODE_SHARE = {"200": 0.95, "404": 0.04, "500": 0.01}
BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
RESTART = ("app-3", 0.6)  # this instance restarts 60% of the way through: its counters reset


def load(t, instance, handler):
    """Requests per second: a daily cycle plus a per-series level."""
    day = math.sin(2 * math.pi * ((t % 86400) / 86400.0 - 0.3))
    level = 1 + INSTANCES.index(instance) * 0.25 + HANDLERS.index(handler) * 0.5
    return max(0.05, level * (3 + 2 * day))


def labels(**kv):
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--end", type=int, required=True, help="last timestamp, unix seconds")
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--step", type=int, default=60)
    a = ap.parse_args()
    steps = int(a.days * 86400 // a.step)
    times = [a.end - (steps - 1 - i) * a.step for i in range(steps)]
    restart_at = times[int(len(times) * RESTART[1])]

    with open(a.out, "w") as f:
        w = f.write
        w("# HELP demo_http_requests Requests served.\n# TYPE demo_http_requests counter\n")
        for inst in INSTANCES:
            for handler in HANDLERS:
                for method in METHODS:
                    for code in CODES:
                        rng = random.Random(f"{inst}{handler}{method}{code}")
                        share = CODE_SHARE[code] * (0.7 if method == "GET" else 0.3)
                        v = 0.0
                        name = "demo_http_requests_total" + labels(
                            code=code, handler=handler, instance=inst, job="demo-app", method=method)
                        for t in times:
                            if inst == RESTART[0] and t == restart_at:
                                v = 0.0
                            v += round(load(t, inst, handler) * share * a.step * rng.uniform(0.8, 1.2))
                            w(f"{name} {v:.0f} {t}\n")

        w("# HELP demo_http_request_duration_seconds Request latency.\n")
        w("# TYPE demo_http_request_duration_seconds histogram\n")
        for inst in INSTANCES:
            for handler in HANDLERS:
                rng = random.Random(f"latency{inst}{handler}")
                base = 0.08 + HANDLERS.index(handler) * 0.07
                counts = [0] * len(BUCKETS)
                total, total_sum = 0, 0.0
                rows = {b: [] for b in BUCKETS}
                sums, cnts = [], []
                for t in times:
                    if inst == RESTART[0] and t == restart_at:
                        counts, total, total_sum = [0] * len(BUCKETS), 0, 0.0
                    n = int(load(t, inst, handler) * a.step)
                    slow = 1 + 0.5 * math.sin(t / 5400.0)
                    for _ in range(min(n, 40)):  # a sample of requests stands for all of them
                        d = rng.expovariate(1 / (base * slow))
                        weight = n / min(n, 40)
                        for i, le in enumerate(BUCKETS):
                            if le == "+Inf" or d <= float(le):
                                counts[i] += weight
                        total += weight
                        total_sum += d * weight
                    for i, le in enumerate(BUCKETS):
                        rows[le].append((t, counts[i]))
                    sums.append((t, total_sum))
                    cnts.append((t, total))
                for le in BUCKETS:
                    name = "demo_http_request_duration_seconds_bucket" + labels(
                        handler=handler, instance=inst, job="demo-app", le=le)
                    for t, c in rows[le]:
                        w(f"{name} {c:.0f} {t}\n")
                name = "demo_http_request_duration_seconds_sum" + labels(handler=handler, instance=inst, job="demo-app")
                for t, s in sums:
                    w(f"{name} {s:.3f} {t}\n")
                name = "demo_http_request_duration_seconds_count" + labels(handler=handler, instance=inst, job="demo-app")
                for t, c in cnts:
                    w(f"{name} {c:.0f} {t}\n")

        w("# HELP demo_cpu_usage_ratio CPU busy share.\n# TYPE demo_cpu_usage_ratio gauge\n")
        for inst in INSTANCES:
            rng = random.Random(f"cpu{inst}")
            name = "demo_cpu_usage_ratio" + labels(instance=inst, job="demo-app")
            for t in times:
                v = min(1.0, 0.08 * load(t, inst, "/") + rng.uniform(0, 0.05))
                w(f"{name} {v:.4f} {t}\n")

        w("# HELP demo_memory_bytes Resident memory.\n# TYPE demo_memory_bytes gauge\n")
        for inst in INSTANCES:
            rng = random.Random(f"mem{inst}")
            name = "demo_memory_bytes" + labels(instance=inst, job="demo-app")
            v = 200e6
            for t in times:
                if inst == RESTART[0] and t == restart_at:
                    v = 200e6
                v = min(900e6, v + rng.uniform(-1e6, 1.5e6))
                w(f"{name} {v:.0f} {t}\n")

        w("# HELP demo_queue_depth Jobs waiting.\n# TYPE demo_queue_depth gauge\n")
        for inst in INSTANCES:
            for queue in ["email", "billing"]:
                rng = random.Random(f"queue{inst}{queue}")
                name = "demo_queue_depth" + labels(instance=inst, job="demo-app", queue=queue)
                v = 0
                for t in times:
                    v = max(0, v + rng.randint(-3, 3))
                    w(f"{name} {v} {t}\n")
        w("# EOF\n")


if __name__ == "__main__":
    main()
