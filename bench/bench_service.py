"""Load test of ``custseg serve`` over loopback: latency and throughput.

Starts ``custseg serve`` on 127.0.0.1 (a free port) with the store given, then:

* **open loop** (``--rate`` requests/s for ``--duration`` seconds, spread over ``--clients``
  threads, each sending on a fixed schedule): latency p50/p90/p99/max, measured from the
  moment a request was *due* (so a slow server cannot hide its queue: no coordinated
  omission), and the throughput achieved;
* **closed loop** (``--clients`` threads sending back to back for ``--max-seconds``): the
  most requests per second the service answers.

``--endpoint score``: one customer a request to ``POST /v1/score`` (a Mall Customers model
on age, income and spending score).  ``--endpoint events``: one purchase event a request to
``POST /v1/events`` (a model on recency, frequency and monetary; each event is written to
the store in its own transaction and the customer re-scored).

Every request goes to 127.0.0.1 only; the run is bounded (at most 120 s of load).

    python bench/bench_service.py --store sqlite --endpoint score
    python bench/bench_service.py --store "$CUSTSEG_TEST_PG_URL" --endpoint events --rate 100

Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MALL = ROOT.parent / "shared" / "data" / "mall_customers.csv"
FEATURES = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_model(kind: str, folder: Path) -> Path:
    from custseg.bundle import save_bundle

    if kind == "score":
        from custseg import Segmenter, demo_data_path, load_table

        df = load_table(MALL if MALL.exists() else demo_data_path())
        feats = [f for f in FEATURES if f in df.columns]
        seg = Segmenter(k=5, features=feats, random_state=0).fit(df)
        return save_bundle(seg, folder, training=df)
    sys.path.insert(0, str(ROOT / "tests"))
    from servicekit import tx_bundle

    return tx_bundle(folder)


def score_bodies(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [json.dumps({"id": f"c{i}", "features": {
        "Age": int(rng.integers(18, 70)), "Annual Income (k$)": int(rng.integers(15, 140)),
        "Spending Score (1-100)": int(rng.integers(1, 100))}}).encode() for i in range(n)]


def event_bodies(n: int, seed: int = 0, per_request: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        events = []
        for j in range(per_request):
            day = 1 + int(rng.integers(0, 28))
            events.append({
                "event_id": f"bench-{seed}-{i}-{j}",
                "customer_id": f"c{int(rng.integers(0, 2000))}",
                "timestamp": f"2024-0{1 + int(rng.integers(0, 9))}-{day:02d}T12:00:00",
                "amount": round(float(rng.gamma(2.0, 20.0)), 2)})
        out.append(json.dumps({"events": events}).encode())
    return out


class Server:
    def __init__(self, model: Path, store: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("custseg")
        self.log = open(log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(exe), "serve", str(model), "--store", store, "--host", "127.0.0.1",
             "--port", str(self.port), "--as-of", "latest"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"custseg serve exited: see {log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("custseg serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def open_loop(url: str, path: str, bodies: list[bytes], rate: float, duration: float,
              clients: int) -> dict:
    """Each client sends every ``clients / rate`` seconds, on schedule."""
    interval = clients / rate
    per_client = int(duration * rate / clients)
    start = time.perf_counter() + 0.2
    latencies: list[list[float]] = [[] for _ in range(clients)]
    service: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    headers = {"content-type": "application/json"}

    def run(c: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            for i in range(per_client):
                due = start + (i + c / clients) * interval
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                sent = time.perf_counter()
                try:
                    r = client.post(path, content=bodies[(i * clients + c) % len(bodies)],
                                    headers=headers)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                done = time.perf_counter()
                if not ok:
                    errors[c] += 1
                latencies[c].append(done - due)
                service[c].append(done - sent)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    lat = np.array([x for xs in latencies for x in xs]) * 1000
    svc = np.array([x for xs in service for x in xs]) * 1000
    return {"mode": "open loop", "target_rate": rate, "clients": clients,
            "requests": len(lat), "errors": int(sum(errors)),
            "throughput": round(len(lat) / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p90_ms": round(float(np.percentile(lat, 90)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(lat.max()), 2),
            "service_p99_ms": round(float(np.percentile(svc, 99)), 2)}


def closed_loop(url: str, path: str, bodies: list[bytes], seconds: float,
                clients: int) -> dict:
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    errors = [0] * clients
    lat: list[list[float]] = [[] for _ in range(clients)]
    headers = {"content-type": "application/json"}

    def run(c: int) -> None:
        i = c
        with httpx.Client(base_url=url, timeout=10) as client:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    ok = client.post(path, content=bodies[i % len(bodies)],
                                     headers=headers).status_code == 200
                except httpx.HTTPError:
                    ok = False
                lat[c].append(time.perf_counter() - t)
                counts[c] += 1
                errors[c] += not ok
                i += clients

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    all_lat = np.array([x for xs in lat for x in xs]) * 1000
    return {"mode": "closed loop", "clients": clients, "requests": sum(counts),
            "errors": sum(errors), "throughput": round(sum(counts) / elapsed, 1),
            "p50_ms": round(float(np.percentile(all_lat, 50)), 2),
            "p99_ms": round(float(np.percentile(all_lat, 99)), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", default="sqlite",
                    help="sqlite (a temporary file), or a store URL (postgresql://...)")
    ap.add_argument("--endpoint", choices=("score", "events"), default="score")
    ap.add_argument("--rate", type=float, default=200.0, help="open loop: requests/s")
    ap.add_argument("--duration", type=float, default=30.0, help="open loop: seconds")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients")
    ap.add_argument("--max-seconds", type=float, default=10.0,
                    help="closed loop: seconds (0: skip)")
    ap.add_argument("--events-per-request", type=int, default=1,
                    help="events: events in each request (one transaction each)")
    ap.add_argument("--json", type=Path, help="also write the results to this file")
    args = ap.parse_args(argv)
    if args.duration + args.max_seconds > 120 or args.rate > 2000 or args.clients > 64:
        ap.error("bounded load only: duration + max-seconds <= 120, rate <= 2000, "
                 "clients <= 64")
    work = Path(tempfile.mkdtemp(prefix="custseg-bench-"))
    try:
        store = (f"sqlite:///{work / 'bench.db'}" if args.store == "sqlite" else args.store)
        if not store.startswith("sqlite"):
            from custseg.store import open_store

            s = open_store(store)
            s.drop_all()
            s.close()
        model = build_model(args.endpoint, work / "model")
        path = "/v1/score" if args.endpoint == "score" else "/v1/events"
        server = Server(model, store, work / "serve.log")
        try:
            per = args.events_per_request
            warm = (score_bodies(200, 1) if args.endpoint == "score"
                    else event_bodies(200, 1, per))
            closed_loop(server.url, path, warm, 2.0, 2)  # warm-up
            bodies = (score_bodies(5000) if args.endpoint == "score"
                      else event_bodies(int(args.rate * args.duration) + 10, 0, per))
            results = [open_loop(server.url, path, bodies, args.rate, args.duration,
                                 args.clients)]
            if args.max_seconds > 0:
                more = (score_bodies(5000, 2) if args.endpoint == "score"
                        else event_bodies(max(50_000 // per, 1000), 2, per))
                results.append(closed_loop(server.url, path, more, args.max_seconds,
                                           args.clients))
        finally:
            server.stop()
        backend = "SQLite" if store.startswith("sqlite") else "PostgreSQL"
        meta = {"endpoint": path, "store": backend, "machine": f"{os.cpu_count()} cores, "
                f"{platform.python_implementation()} {platform.python_version()}",
                **({"events_per_request": args.events_per_request}
                   if args.endpoint == "events" else {})}
        for r in results:
            print(json.dumps({**meta, **r}))
        print("\n| endpoint | store | mode | clients | target req/s | achieved req/s | p50 ms "
              "| p99 ms | max ms | errors |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {path} | {backend} | {r['mode']} | {r['clients']} | "
                  f"{r.get('target_rate', '-')} | {r['throughput']} | {r['p50_ms']} | "
                  f"{r['p99_ms']} | {r.get('max_ms', '-')} | {r['errors']} |")
        if args.json:
            args.json.write_text(json.dumps([{**meta, **r} for r in results], indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
