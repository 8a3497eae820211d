#!/usr/bin/env python3
"""A deterministic make-believe web service ("demo-app", four instances) for the demo stack.

Its metrics: request counters by handler/method/code with a daily cycle (one instance restarts
60% into the history, so counters reset once), a latency histogram, CPU, memory and queue
gauges. `history` writes the past days as OpenMetrics for
`thanos-tools tsdb create-blocks-from openmetrics`; `serve` then goes on live from where the
history ends, as a /metrics endpoint both Prometheus replicas scrape. State only changes on
STEP boundaries, so both replicas see the same values. Stdlib only.

Usage: demo_app.py history OUT --end UNIX_SECONDS [--days 3]
       demo_app.py serve PORT --end UNIX_SECONDS   (the same --end as the history)
"""
import argparse
import http.server
import math
import random
import threading
import time

STEP = 60
INSTANCES = [f"app-{i}" for i in range(4)]
HANDLERS = ["/", "/api/orders", "/api/users"]
METHODS = ["GET", "POST"]
CODE_SHARE = {"200": 0.95, "404": 0.04, "500": 0.01}
BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
FAMILIES = [
    ("demo_http_requests", "counter", "Requests served."),
    ("demo_http_request_duration_seconds", "histogram", "Request latency."),
    ("demo_cpu_usage_ratio", "gauge", "CPU busy share."),
    ("demo_memory_bytes", "gauge", "Resident memory."),
    ("demo_queue_depth", "gauge", "Jobs waiting."),
]


def load(t, instance, handler):
    """Requests per second: a daily cycle plus a per-series level."""
    day = math.sin(2 * math.pi * ((t % 86400) / 86400.0 - 0.3))
    level = 1 + INSTANCES.index(instance) * 0.25 + HANDLERS.index(handler) * 0.5
    return max(0.05, level * (3 + 2 * day))


def labels(**kv):
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(kv.items())) + "}"


class DemoApp:
    """The service's state, advanced one STEP at a time from a fixed start."""

    def __init__(self, start, restart_at):
        self.t = start - STEP
        self.restart_at = restart_at
        self.requests = {}
        for inst in INSTANCES:
            for h in HANDLERS:
                for m in METHODS:
                    for code in CODE_SHARE:
                        self.requests[(inst, h, m, code)] = [0.0, random.Random(f"{inst}{h}{m}{code}")]
        self.latency = {(i, h): [[0.0] * len(BUCKETS), 0.0, 0.0, random.Random(f"latency{i}{h}")]
                        for i in INSTANCES for h in HANDLERS}
        self.cpu = {i: [0.0, random.Random(f"cpu{i}")] for i in INSTANCES}
        self.memory = {i: [200e6, random.Random(f"mem{i}")] for i in INSTANCES}
        self.queues = {(i, q): [0, random.Random(f"queue{i}{q}")] for i in INSTANCES for q in ("email", "billing")}

    def advance(self):
        """Moves to the next step."""
        self.t += STEP
        t = self.t
        restart = t == self.restart_at
        for (inst, h, m, code), state in self.requests.items():
            if restart and inst == INSTANCES[3]:
                state[0] = 0.0
            share = CODE_SHARE[code] * (0.7 if m == "GET" else 0.3)
            state[0] += round(load(t, inst, h) * share * STEP * state[1].uniform(0.8, 1.2))
        for (inst, h), state in self.latency.items():
            if restart and inst == INSTANCES[3]:
                state[0], state[1], state[2] = [0.0] * len(BUCKETS), 0.0, 0.0
            n = int(load(t, inst, h) * STEP)
            sampled = min(n, 40)  # a sample of the requests stands for all of them
            base = (0.08 + HANDLERS.index(h) * 0.07) * (1 + 0.5 * math.sin(t / 5400.0))
            for _ in range(sampled):
                d = state[3].expovariate(1 / base)
                weight = n / sampled
                for i, le in enumerate(BUCKETS):
                    if le == "+Inf" or d <= float(le):
                        state[0][i] += weight
                state[1] += weight
                state[2] += d * weight
        for inst, state in self.cpu.items():
            state[0] = min(1.0, 0.08 * load(t, inst, "/") + state[1].uniform(0, 0.05))
        for inst, state in self.memory.items():
            if restart and inst == INSTANCES[3]:
                state[0] = 200e6
            state[0] += state[1].uniform(-2e6, 2e6) + (400e6 - state[0]) * 0.002  # wanders around 400 MB
        for state in self.queues.values():
            state[0] = max(0, state[0] + state[1].randint(-3, 3))

    def samples(self):
        """(family, sample name with labels, formatted value) for every series, family by family."""
        for (inst, h, m, code), (v, _) in self.requests.items():
            yield 0, "demo_http_requests_total" + labels(code=code, handler=h, instance=inst, job="demo-app",
                                                         method=m), f"{v:.0f}"
        for (inst, h), (counts, total, total_sum, _) in self.latency.items():
            for le, c in zip(BUCKETS, counts):
                yield 1, "demo_http_request_duration_seconds_bucket" + labels(
                    handler=h, instance=inst, job="demo-app", le=le), f"{c:.0f}"
            common = labels(handler=h, instance=inst, job="demo-app")
            yield 1, "demo_http_request_duration_seconds_sum" + common, f"{total_sum:.3f}"
            yield 1, "demo_http_request_duration_seconds_count" + common, f"{total:.0f}"
        for inst, (v, _) in self.cpu.items():
            yield 2, "demo_cpu_usage_ratio" + labels(instance=inst, job="demo-app"), f"{v:.4f}"
        for inst, (v, _) in self.memory.items():
            yield 3, "demo_memory_bytes" + labels(instance=inst, job="demo-app"), f"{v:.0f}"
        for (inst, q), (v, _) in self.queues.items():
            yield 4, "demo_queue_depth" + labels(instance=inst, job="demo-app", queue=q), str(v)


def timeline(end, days):
    """The app's first step and its restart time, from the history's last timestamp."""
    steps = int(days * 86400 // STEP)
    start = end - (steps - 1) * STEP
    return start, start + int(steps * 0.6) * STEP


def history(out, end, days):
    """Writes the app's past `days` up to `end` as OpenMetrics (one series' samples together)."""
    start, restart_at = timeline(end, days)
    app = DemoApp(start, restart_at)
    rows = {}
    while app.t < end:
        app.advance()
        for family, name, value in app.samples():
            rows.setdefault((family, name), []).append(f"{value} {app.t}")
    with open(out, "w") as f:
        for family, (fname, ftype, fhelp) in enumerate(FAMILIES):
            f.write(f"# HELP {fname} {fhelp}\n# TYPE {fname} {ftype}\n")
            for (fam, name), values in rows.items():
                if fam == family:
                    f.writelines(f"{name} {v}\n" for v in values)
        f.write("# EOF\n")


def serve(port, end, days):
    """Serves the app's metrics live (Prometheus text format), continuing the history."""
    start, restart_at = timeline(end, days)
    app = DemoApp(start, restart_at)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/metrics":
                self.send_error(404)
                return
            with lock:
                now = int(time.time()) // STEP * STEP
                while app.t < now:
                    app.advance()
                lines = []
                for family, (fname, ftype, fhelp) in enumerate(FAMILIES):
                    lines.append(f"# HELP {fname} {fhelp}\n# TYPE {fname} {ftype}\n")
                    lines.extend(f"{name} {value}\n" for fam, name, value in app.samples() if fam == family)
            body = "".join(lines).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("history")
    h.add_argument("out")
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    for p in (h, s):
        p.add_argument("--end", type=int, required=True, help="the history's last timestamp, unix seconds")
        p.add_argument("--days", type=float, default=3)
    a = ap.parse_args()
    if a.cmd == "history":
        history(a.out, a.end, a.days)
    else:
        serve(a.port, a.end, a.days)


if __name__ == "__main__":
    main()
