"""A long fuzz campaign: the properties of tests/test_fuzz.py, for minutes or hours.

Runs hypothesis rounds over arbitrary JSON, mutated specs, well-formed specs and pasted code
until the time is up. Builds go up to the app's own limits (``MAX_HEAVY_PARAMS`` parameters,
``MAX_SIGNAL_ELEMENTS`` activations). Each distinct failure (exception type and where it was
raised) is shrunk once, then written to ``tests/regressions/<property>-<hash>.json`` with
``"xfail"`` set, so ``test_regression`` in tests/test_fuzz.py replays it (and fails loudly once
the bug is fixed: remove the ``xfail``). Later hits of a known failure are counted, not shrunk
again.

The hostile targets (``--targets hostile``) feed entry points a stranger reaches: share links
packing non-objects (``link``), uploaded text that may look like a path (``text``), assignment
links (``assignment``), generated PyTorch sources whose call graphs, loops or nesting explode
(``callgraph``), and receptive field / memory estimate / diagrams of extreme but valid designs
(``extreme``). Each call must return or raise SpecError within ``--bound`` seconds (a call past
``5 * bound + 5`` s is interrupted and counts as a time-out) and within 1 GB of peak memory;
links and text are decoded with every way of opening a file refused. The slowest call of each
entry point is reported. The time-bounded targets are not shrunk (their cases are recipes).

Run: python bench/fuzz_campaign.py --minutes 30
     python bench/fuzz_campaign.py --minutes 20 --targets hostile
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import resource
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builder.limits import MAX_HEAVY_PARAMS, MAX_SIGNAL_ELEMENTS  # noqa: E402
from tests import test_fuzz as fuzz  # noqa: E402
from tests.strategies import specs  # noqa: E402

ROUND_EXAMPLES = 400
SLOW_SECONDS = 10.0
SPEC_TARGETS = ("json", "top", "mutated", "specs")
HOSTILE = tuple(fuzz.HOSTILE_CHECKS)  # link text assignment callgraph extreme
ALL_TARGETS = (*SPEC_TARGETS, "code", *HOSTILE)
UNSHRUNK = ("callgraph", "extreme")  # each example may take seconds: no shrinking
ROUND_SIZES = {"callgraph": 60, "extreme": 12}  # examples per round, ROUND_EXAMPLES otherwise


def signature(exc: BaseException) -> str:
    """Where a failure comes from: its type, the deepest frame in this repo, the deepest overall."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(ROOT) in f.filename and "hypothesis" not in f.filename]
    here = ours[-1] if ours else frames[-1]
    last = frames[-1]
    where = f"{Path(here.filename).relative_to(ROOT)}:{here.lineno}"
    text = f"{type(exc).__name__}@{where}|{last.name}"
    if isinstance(exc, AssertionError):
        text += "|" + str(exc).splitlines()[0][:80] if str(exc) else ""
    if isinstance(exc, fuzz.Overrun):  # interrupted anywhere: the entry point, and where
        inside = [f for f in frames if str(ROOT / "builder") in f.filename]
        text = f"Overrun@{str(exc).split(':')[0]}|{inside[-1].name if inside else '?'}"
    return text


class Campaign:
    def __init__(
        self,
        minutes: float,
        write: bool,
        build_params: int,
        build_activations: int,
        bound: float = 2.0,
    ):
        self.deadline = time.monotonic() + 60 * minutes
        self.write = write
        self.bound = bound
        self.build_params = build_params
        self.build_activations = build_activations
        self.examples: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self.found: dict[str, dict[str, Any]] = {}  # signature -> smallest failing case
        self.slow: list[tuple[float, str, str]] = []

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def check(self, prop: str, case: dict[str, Any]) -> None:
        """Run one property on one case; a new failure is recorded and re-raised to shrink it."""
        if self.time_left() <= 0:
            return
        self.examples[prop] += 1
        start = time.perf_counter()
        try:
            if prop == "code":
                outcome = fuzz.check_code_input(case["input"], case["input_shape"])
            elif prop in fuzz.HOSTILE_CHECKS:
                outcome = fuzz.HOSTILE_CHECKS[prop](case, bound=self.bound)
            else:
                outcome = fuzz.check_spec_input(
                    case["input"], self.build_params, self.build_activations, case.get("seed", 0)
                )
            self.outcomes[f"{prop}:{outcome}"] += 1
        except Exception as exc:
            sig = signature(exc)
            if "recipe" in case:  # one failure per kind of generated source
                sig += f"|{case['recipe']['kind']}"
            self.hits[sig] += 1
            known = self.found.get(sig)
            if known is not None and known.get("done"):
                return
            text = repr(case["input"])
            if known is None or len(text) < len(known["repr"]):
                self.found[sig] = {
                    "property": prop,
                    "case": case,
                    "repr": text,
                    "error": f"{type(exc).__name__}: {str(exc)[:500]}",
                    "traceback": "".join(traceback.format_exception(exc)[-12:]),
                }
            raise
        finally:
            took = time.perf_counter() - start
            if took > SLOW_SECONDS:
                self.slow.append((took, prop, repr(case["input"])[:300]))

    def round(self, prop: str, strategy: Any, round_seed: int) -> None:
        @seed(round_seed)
        @settings(
            max_examples=ROUND_SIZES.get(prop, ROUND_EXAMPLES),
            deadline=None,
            database=None,
            phases=[Phase.generate] if prop in UNSHRUNK else [Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(strategy)
        def run(case):
            self.check(prop, case)

        with contextlib.suppress(Exception):  # a new failure, shrunk: now in self.found
            run()
        for sig, entry in self.found.items():
            if not entry.get("done"):
                entry["done"] = True
                self.record(sig, entry)

    def record(self, sig: str, entry: dict[str, Any]) -> None:
        digest = hashlib.sha1(sig.encode()).hexdigest()[:10]
        path = fuzz.REGRESSIONS / f"{entry['property']}-{digest}.json"
        entry["path"] = str(path.relative_to(ROOT))
        print(f"\nNEW FAILURE {sig}\n  {entry['error'][:300]}\n  input: {entry['repr'][:300]}")
        print(f"  -> {entry['path']}", flush=True)
        if not self.write or path.exists():
            return
        prop = entry["property"]
        data = {
            "property": "spec" if prop in SPEC_TARGETS else prop,
            **entry["case"],
            **({"bound": self.bound} if prop in HOSTILE else {}),  # replayed at this bound
            "signature": sig,
            "error": entry["error"],
            "traceback": entry["traceback"],
            "found": datetime.now(UTC).strftime("%Y-%m-%d"),
            "xfail": f"found by bench/fuzz_campaign.py, not fixed yet: {entry['error'][:200]}",
        }
        fuzz.REGRESSIONS.mkdir(exist_ok=True)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def strategies() -> dict[str, Any]:
    seeds = st.integers(0, 2**16)
    out = {
        "json": st.builds(lambda v: {"input": v}, fuzz.json_values()),
        "top": st.builds(
            lambda v: {"input": v},
            st.dictionaries(st.sampled_from(fuzz.TOP_KEYS), fuzz.json_values(12), max_size=6),
        ),
        "mutated": st.builds(lambda v, s: {"input": v, "seed": s}, fuzz.mutated_specs(), seeds),
        "specs": st.builds(lambda v: {"input": v}, specs()),
    }
    if fuzz.spec_from_code is not None:
        code = st.one_of(
            fuzz.mutated_code(),
            st.tuples(st.text(max_size=400), st.sampled_from([[3, 32, 32], [20]])),
        )
        out["code"] = st.builds(lambda c: {"input": c[0], "input_shape": c[1]}, code)
    for name, strategy in fuzz.HOSTILE_STRATEGIES.items():
        out[name] = strategy()
    return out


def targets(names: list[str] | None) -> list[str]:
    """The targets ``--targets`` names (``hostile``: the five hostile ones; none: all)."""
    if not names:
        return list(ALL_TARGETS)
    chosen = []
    for name in names:
        group = HOSTILE if name == "hostile" else SPEC_TARGETS if name == "spec" else (name,)
        for target in group:
            if target not in ALL_TARGETS:
                raise SystemExit(f"unknown target {target!r}; known: {' '.join(ALL_TARGETS)}")
            chosen.append(target)
    return list(dict.fromkeys(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=None, help="first round's seed (random)")
    parser.add_argument("--no-write", action="store_true", help="do not write regressions")
    parser.add_argument("--build-params", type=int, default=MAX_HEAVY_PARAMS)
    parser.add_argument("--build-activations", type=int, default=MAX_SIGNAL_ELEMENTS)
    parser.add_argument(
        "--targets",
        "--only",
        nargs="*",
        help=f"targets to run ({' '.join(ALL_TARGETS)}; 'hostile' for the last five, "
        "'spec' for the first four); all by default",
    )
    parser.add_argument(
        "--bound", type=float, default=2.0, help="seconds one hostile-target call may take"
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=8.0,
        help="address-space limit of this process (a runaway allocation fails, not the machine)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # leave the other core to whatever else runs
    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    warnings.simplefilter("ignore")  # torch's UserWarnings about legal but odd designs
    sys.set_int_max_str_digits(0)  # failing inputs may hold huge integers

    campaign = Campaign(
        args.minutes, not args.no_write, args.build_params, args.build_activations, args.bound
    )

    def stop(signum: int, frame: Any) -> None:  # SIGTERM / Ctrl-C: finish the round, report
        campaign.deadline = time.monotonic()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # mutated specs find the most: give them half the rounds
    weights = {"json": 1, "top": 1, "mutated": 4, "specs": 1, "code": 2}
    chosen = targets(args.targets)
    props = {k: v for k, v in strategies().items() if k in chosen}
    order = [k for k in props for _ in range(weights.get(k, 1))]
    first = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"first round's seed: {first} (replay with --seed {first})", flush=True)
    rng = random.Random(first)
    start = time.monotonic()
    rounds = 0
    last_report = start
    while campaign.time_left() > 0:
        prop = order[rounds % len(order)]
        round_seed = rng.randrange(2**32)
        # written before the round runs: a crash inside torch's C++ (SIGFPE) leaves no report
        print(f"round {rounds}: {prop} @seed({round_seed})", file=sys.stderr, flush=True)
        campaign.round(prop, props[prop], round_seed)
        rounds += 1
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            minutes = (last_report - start) / 60
            examples = sum(campaign.examples.values())
            print(
                f"[{minutes:5.1f} min] rounds {rounds}, examples {examples:,}"
                f", distinct failures {len(campaign.found)}",
                flush=True,
            )

    minutes = (time.monotonic() - start) / 60
    print(f"\n=== fuzz campaign: {minutes:.1f} minutes, {rounds} rounds ===")
    print(f"examples tried: {sum(campaign.examples.values()):,}")
    for prop, count in sorted(campaign.examples.items()):
        outcomes = {
            k.split(":", 1)[1]: v for k, v in campaign.outcomes.items() if k.startswith(prop + ":")
        }
        print(f"  {prop:10} {count:9,}  {outcomes}")
    if fuzz.SLOWEST:
        print(f"slowest call per entry point (bound {args.bound:g} s; peak memory growth):")
        for name, (took, mb) in sorted(fuzz.SLOWEST.items()):
            print(f"  {name:18} {took:8.3f} s  {mb:8.0f} MB")
    print(f"distinct failures: {len(campaign.found)}")
    for sig, entry in campaign.found.items():
        print(f"  {sig}  ({campaign.hits[sig]:,} hits) -> {entry.get('path')}")
        print(f"    {entry['error'][:200]}")
    if campaign.slow:
        print(f"slow examples (> {SLOW_SECONDS:.0f} s): {len(campaign.slow)}")
        for took, prop, text in sorted(campaign.slow, reverse=True)[:10]:
            print(f"  {took:6.1f} s  {prop}  {text}")


if __name__ == "__main__":
    main()
