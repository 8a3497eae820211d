#!/usr/bin/env python3
"""The local demo stack (`just demo`): two Prometheus 2.42 replicas with sidecars, a bucket,
thanos-store and thanos-query at http://localhost:8080/thanos, over a few days of backfilled
history. Ctrl-C stops everything, newest first.

Everything lives under --dir (default .demo/ in the checkout), wiped at start. Stdlib only.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_APP = os.path.join(ROOT, "scripts/demo/demo_app.py")
BINARIES = ["thanos-sidecar", "thanos-store", "thanos-query", "thanos-tools"]
FIXED_PORTS = {
    "query_http": 8080, "query_grpc": 10903,
    "prom0": 9090, "prom1": 9091,
    "sidecar0_grpc": 10901, "sidecar0_http": 10902,
    "sidecar1_grpc": 10911, "sidecar1_http": 10912,
    "store_grpc": 10905, "store_http": 10906,
    "s3": 9000, "app": 9100,
}
EXAMPLES = [
    "sum by (handler) (rate(demo_http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(demo_http_request_duration_seconds_bucket[5m])))",
    "max_over_time(demo_memory_bytes[1d])",
]


def log(msg):
    print(f"demo: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


class Stack:
    """The running processes, stopped in reverse start order."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, name, argv):
        logfile = open(os.path.join(self.workdir, "logs", f"{name}.log"), "ab")
        # A new session: Ctrl-C reaches only this script, which then stops the stack in order.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def wait_ready(self, name, url, timeout=120):
        proc = dict(self.procs)[name]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"demo: {name} exited with {proc.returncode}; see {self.workdir}/logs/{name}.log")
            if http_ok(url):
                return
            time.sleep(0.2)
        raise SystemExit(f"demo: {name} not ready at {url} after {timeout}s; see {self.workdir}/logs/{name}.log")

    def alive(self):
        return [(n, p) for n, p in self.procs if p.poll() is None]

    def stop(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    log(f"{name} did not stop within 20s; killing it")
                    proc.kill()
                    proc.wait()
        log("stopped")


def target_dir():
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["target_directory"]


def build(profile):
    args = ["cargo", "build", "--locked"] + (["--release"] if profile == "release" else [])
    for b in BINARIES:
        args += ["-p", b]
    log("building " + ", ".join(BINARIES) + f" ({profile})")
    subprocess.run(args, cwd=ROOT, check=True)
    return os.path.join(target_dir(), "release" if profile == "release" else "debug")


def install_tools(bucket):
    tools = ["prometheus"] + (["s3s-fs"] if bucket == "s3" else [])
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts/tools.sh"), *tools], check=True,
                         capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    env = dict(line.split("=", 1) for line in out.stdout.split())
    return env.get("S3S_FS_BIN")


def backfill(bins, workdir, end, days):
    """The demo app's history up to `end`, as blocks for each replica's TSDB (the same samples, but
    each replica's own block IDs, as two real replicas would have)."""
    om = os.path.join(workdir, "history.om")
    log(f"generating {days} days of demo history")
    subprocess.run([sys.executable, DEMO_APP, "history", om, "--end", str(end), "--days", str(days)], check=True)
    for r in ("0", "1"):
        subprocess.run([os.path.join(bins, "thanos-tools"), "tsdb", "create-blocks-from", "openmetrics", "-q",
                        "--max-block-duration=24h", om, os.path.join(workdir, f"prometheus-{r}", "data")],
                       check=True)
    os.remove(om)


def prometheus_config(replica, ports):
    targets = {
        "prometheus": [ports["prom0"], ports["prom1"]],
        "thanos-sidecar": [ports["sidecar0_http"], ports["sidecar1_http"]],
        "thanos-store": [ports["store_http"]],
        "thanos-query": [ports["query_http"]],
    }
    # The demo app labels its series itself (job, instance), as its history does.
    jobs = [f"  - job_name: demo-app\n    honor_labels: true\n    static_configs: [{{targets: ['127.0.0.1:{ports['app']}']}}]\n"]
    for job, ps in targets.items():
        addrs = ", ".join(f"'127.0.0.1:{p}'" for p in ps)
        jobs.append(f"  - job_name: {job}\n    static_configs: [{{targets: [{addrs}]}}]\n")
    return ("global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"
            f"  external_labels: {{cluster: demo, replica: \"{replica}\"}}\n"
            "scrape_configs:\n" + "".join(jobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bucket", nargs="?", default="fs", choices=["fs", "s3"],
                    help="fs: a directory bucket (default); s3: an s3s-fs server on 127.0.0.1:9000")
    ap.add_argument("--dir", default=os.path.join(ROOT, ".demo"), help="working directory (wiped at start)")
    ap.add_argument("--days", type=float, default=3, help="days of backfilled history")
    ap.add_argument("--profile", default="release", choices=["release", "debug"])
    ap.add_argument("--bin-dir", help="use binaries from here instead of building")
    ap.add_argument("--free-ports", action="store_true", help="pick free ports instead of the fixed ones")
    ap.add_argument("--store-sync", default="30s", help="thanos-store's --sync-block-duration")
    ap.add_argument("--state-file", help="write the ports and paths here as JSON once the stack is up")
    a = ap.parse_args()

    s3s_fs = install_tools(a.bucket)
    bins = a.bin_dir or build(a.profile)
    ports = {k: (free_port() if a.free_ports else v) for k, v in FIXED_PORTS.items()}
    if not a.free_ports:
        busy = [f"{k}={p}" for k, p in ports.items() if not port_free(p)]
        if busy:
            raise SystemExit(f"demo: ports in use: {', '.join(busy)} (another demo running? use --free-ports)")

    workdir = os.path.abspath(a.dir)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(os.path.join(workdir, "logs"))
    end = int(time.time()) // 60 * 60 - 60  # history up to a minute ago; the live app goes on from there
    backfill(bins, workdir, end, a.days)

    stack = Stack(workdir)
    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bucket_yml = os.path.join(workdir, "bucket.yml")
        if a.bucket == "s3":
            s3dir = os.path.join(workdir, "s3")
            os.makedirs(os.path.join(s3dir, "thanos"))  # s3s-fs keeps each bucket as a directory
            stack.start("s3s-fs", [s3s_fs, "--host", "127.0.0.1", "--port", str(ports["s3"]),
                                   "--access-key", "rustadmin", "--secret-key", "rustadmin", s3dir])
            wait_port(ports["s3"])
            with open(bucket_yml, "w") as f:
                f.write(f"type: S3\nconfig:\n  bucket: thanos\n  endpoint: 127.0.0.1:{ports['s3']}\n"
                        "  access_key: rustadmin\n  secret_key: rustadmin\n  insecure: true\n")
        else:
            with open(bucket_yml, "w") as f:
                f.write(f"type: FILESYSTEM\nconfig:\n  directory: {os.path.join(workdir, 'bucket')}\n")

        stack.start("demo-app", [sys.executable, DEMO_APP, "serve", str(ports["app"]), "--end", str(end),
                                 "--days", str(a.days)])
        stack.wait_ready("demo-app", f"http://127.0.0.1:{ports['app']}/metrics")
        for r in ("0", "1"):
            pdir = os.path.join(workdir, f"prometheus-{r}")
            data = os.path.join(pdir, "data")
            with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
                f.write(prometheus_config(r, ports))
            stack.start(f"prometheus-{r}", [
                "prometheus", f"--config.file={pdir}/prometheus.yml", f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{ports['prom' + r]}", "--storage.tsdb.retention.time=15d",
                # Equal block durations stop Prometheus compacting what the sidecar uploads.
                "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
                "--web.enable-lifecycle"])
        for r in ("0", "1"):
            stack.wait_ready(f"prometheus-{r}", f"http://127.0.0.1:{ports['prom' + r]}/-/ready")
            stack.start(f"sidecar-{r}", [
                os.path.join(bins, "thanos-sidecar"),
                f"--prometheus.url=http://127.0.0.1:{ports['prom' + r]}",
                f"--tsdb.path={workdir}/prometheus-{r}/data", f"--objstore.config-file={bucket_yml}",
                f"--grpc-address=127.0.0.1:{ports[f'sidecar{r}_grpc']}",
                f"--http-address=127.0.0.1:{ports[f'sidecar{r}_http']}"])
        stack.start("store", [
            os.path.join(bins, "thanos-store"), f"--objstore.config-file={bucket_yml}",
            f"--data-dir={workdir}/store", f"--grpc-address=127.0.0.1:{ports['store_grpc']}",
            f"--http-address=127.0.0.1:{ports['store_http']}", f"--sync-block-duration={a.store_sync}"])
        stack.start("query", [
            os.path.join(bins, "thanos-query"),
            f"--http-address=127.0.0.1:{ports['query_http']}", f"--grpc-address=127.0.0.1:{ports['query_grpc']}",
            f"--endpoint=127.0.0.1:{ports['sidecar0_grpc']}", f"--endpoint=127.0.0.1:{ports['sidecar1_grpc']}",
            f"--endpoint=127.0.0.1:{ports['store_grpc']}", "--query.replica-label=replica",
            "--web.external-prefix=/thanos"])
        for r in ("0", "1"):
            stack.wait_ready(f"sidecar-{r}", f"http://127.0.0.1:{ports[f'sidecar{r}_http']}/-/ready")
        stack.wait_ready("store", f"http://127.0.0.1:{ports['store_http']}/-/ready")
        stack.wait_ready("query", f"http://127.0.0.1:{ports['query_http']}/-/ready")
        stack.wait_ready("query", f"http://127.0.0.1:{ports['query_http']}/thanos/api/v1/query?query=1")
        wait_endpoints(f"http://127.0.0.1:{ports['query_http']}/thanos/api/v1/stores", 3, stack)

        base = f"http://localhost:{ports['query_http']}/thanos"
        print(f"\nthanos-rs demo is up ({a.bucket} bucket, {workdir}):\n"
              f"  query UI and API  {base}/\n"
              f"  prometheus        http://localhost:{ports['prom0']}  http://localhost:{ports['prom1']}\n"
              f"  logs              {workdir}/logs/\n\nTry:", flush=True)
        for q in EXAMPLES:
            print(f"  curl -s '{base}/api/v1/query' --data-urlencode 'query={q}'")
        print("\nCtrl-C stops everything.", flush=True)
        if a.state_file:
            with open(a.state_file + ".tmp", "w") as f:
                json.dump({"ports": ports, "dir": workdir, "history_end": end,
                           "pid": os.getpid()}, f)
            os.replace(a.state_file + ".tmp", a.state_file)

        while not stopping:
            dead = [(n, p.returncode) for n, p in stack.procs if p.poll() is not None]
            if dead:
                log(f"{dead[0][0]} exited with {dead[0][1]}; see {workdir}/logs/{dead[0][0]}.log")
                return 1
            time.sleep(0.5)
    finally:
        stack.stop()
    return 0


def wait_endpoints(url, want, stack, timeout=60):
    """Waits until the querier has found `want` healthy endpoints, so the first query sees them all."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                data = json.load(r)["data"]
            healthy = sum(1 for group in data.values() for e in group if not e.get("lastError"))
            if healthy >= want:
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise SystemExit(f"demo: the querier did not find {want} healthy endpoints; see {stack.workdir}/logs/")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"demo: nothing listening on {port}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the stack is up (while building or generating)
        log("interrupted")
        sys.exit(130)
