"""Store latency: save_design / load_design p50 and p95 over N operations, SQLite and PostgreSQL.

SQLite is a file in a temp dir (WAL); PostgreSQL a throwaway 15 cluster (tests/postgres.py: the
same initdb / pg_ctl as the tests, fsync off), or ``--postgres URL`` for a real server. Each
save stores a distinct design (the LeNet preset, its seed varied); each load reads one of them
back in random order. Then 8 threads x 50 operations (saves and submissions) at once: the time,
and a check that nothing was lost.

Run: python bench/bench_store.py [--ops 1000] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import store  # noqa: E402
from builder.presets import preset  # noqa: E402
from tests import postgres  # noqa: E402


def design(seed: int) -> dict:
    out = preset()
    out["seed"] = seed
    return out


def percentiles(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"p50 {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms"


def latency(db: store.Store, ops: int, base: int) -> tuple[str, str]:
    keys, saves, loads = [], [], []
    for i in range(ops):
        d = design(base + i)
        start = time.perf_counter()
        keys.append(db.save_design(d))
        saves.append(time.perf_counter() - start)
    random.Random(0).shuffle(keys)
    for key in keys:
        start = time.perf_counter()
        db.load_design(key)
        loads.append(time.perf_counter() - start)
    return percentiles(saves), percentiles(loads)


def concurrent(db: store.Store, base: int) -> str:
    student, token = db.create_assignment({"output_shape": [10]})
    saved: list[str] = []
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(50):
                if i % 2:
                    db.submit(student, f"t{t}-{i}", design(base + t * 100 + i))
                else:
                    saved.append(db.save_design(design(base + t * 100 + i)))
        except BaseException as exc:
            errors.append(exc)

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    subs = len(db.submissions(token))
    lost = (8 * 25 - len(set(saved))) + (8 * 25 - subs)
    return f"8 threads x 50 ops: {took:5.2f} s, {len(errors)} errors, {lost} lost"


def run(name: str, url: str, ops: int) -> None:
    db = store.open_store(url)
    base = random.Random().randrange(10**9)
    save, load = latency(db, ops, base)
    print(f"{name:10s} save  {save}")
    print(f"{name:10s} load  {load}")
    print(f"{name:10s} {concurrent(db, base + 10**6)}")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (default: a temp cluster)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.db", args.ops)
    if not args.postgres and not postgres.available():
        print("postgresql: binaries not found, skipped")
        return
    with nullcontext(args.postgres) if args.postgres else postgres.cluster() as url:
        run("postgresql", url, args.ops)


if __name__ == "__main__":
    main()
