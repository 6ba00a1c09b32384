"""Speed on a busy machine: the Quickstart search quiet and beside N CPU-bound processes.

Each measurement is a fresh process (the OpenMP runtime reads its settings when torch
loads; see ``caviar.openmp``) that imports everything, then times one entry point:

* ``tune``: the Quickstart search, ``caviar.tune`` on ``examples/tune_digits.toml``
  (48 configurations, halving; populations side by side, caviar's default);
* ``train``: ``caviar.train`` on ``examples/digits.toml`` (one population of 24 on all
  cores: the case that collapsed, OpenMP threads waiting at barriers).

It runs them quiet and beside 1 and 3 CPU-bound processes it starts itself
(``while time.time() < end: pass``, bounded to ``--load-seconds`` and killed when the
level is done). With ``N`` such processes on ``C`` cores a process's fair share is
``C / (N + C)`` of the machine, so the target is a slowdown of at most ``(N + C) / C``.
The machine may be shared: the load average and the mean count of runnable tasks seen
during each level are printed, and levels are compared within one run (``--repeat R``
interleaves them R times and keeps each one's fastest). ``--before`` also measures the
settings caviar had before (``libgomp``'s default spin, ``GOMP_SPINCOUNT=300000``; no
thread adjustment). The last line is one JSON object: ``slowdown_under_load`` per entry
point and load level, ``fair_share`` per level.

``--policies P1,P2,...`` compares OpenMP wait policies side by side instead (each run
sets ``CAVIAR_WAIT_POLICY``, see ``caviar.openmp``; the user's own wait variables are
removed for these runs): ``active``, ``passive``, ``default`` (``libgomp``'s own: spin
300,000 then sleep), a number (``GOMP_SPINCOUNT``) and ``load`` (caviar's default:
decided when torch loads from the runnable tasks against the cores). ``policies`` in the
JSON gives, per policy and entry point, ``quiet_vs_active`` (quiet ``ACTIVE`` time over
this policy's quiet time; target >= 0.97), ``slowdown`` per load level against quiet
``ACTIVE`` and ``within_fair_share`` (that slowdown <= ``(N + C) / C``). The whole
comparison for a quiet machine, in one command::

    python benchmarks/under_load.py --policies active,passive,default,1000,10000,100000,load \
        --entries train,tune --loads 1,3 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = {"GOMP_SPINCOUNT": "300000", "CAVIAR_LOAD_AWARE_THREADS": "0"}
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
POLICY_NAMES = ("active", "passive", "default", "load")
BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def child(entry: str, quick: bool) -> None:
    """Time one entry point in this (fresh) process; print its seconds as JSON."""
    import shutil
    import tempfile
    import tomllib

    import caviar  # noqa: F401  (first: its wait policy reaches torch, see caviar.openmp)
    from caviar.api import train
    from caviar.data import prepare_data
    from caviar.tuning.runner import tune
    from caviar.tuning.storage import import_backend

    name = "tune_digits.toml" if entry == "tune" else "digits.toml"
    cfg = tomllib.loads((ROOT / "examples" / name).read_text())
    if quick:
        cfg["train"]["epochs"] = 3
        if entry == "tune":
            cfg["search"].update(trials=6, halving={"min_epochs": 1, "eta": 3})
    import_backend()
    data = prepare_data("digits", val_fraction=0.2, test_fraction=0.2, seed=0)
    out = tempfile.mkdtemp(prefix="caviar-load-")
    try:
        start = time.perf_counter()
        if entry == "tune":
            tune(cfg, out=os.path.join(out, "run"), data=data, verbose=0)
        else:
            train(cfg, data=data, verbose=0)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    import torch

    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads()}))


def runnable() -> int:
    return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])


def measure(entry: str, quick: bool, env: dict, timeout: float) -> tuple[float, float]:
    """(seconds, mean runnable tasks during the run) of one child run."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            samples.append(runnable())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cmd = [sys.executable, __file__, "--child", entry] + (["--quick"] if quick else [])
    base = os.environ
    if "CAVIAR_WAIT_POLICY" in env:  # a policy run: the user's own wait settings would win
        base = {k: v for k, v in os.environ.items() if k not in WAIT_VARIABLES}
    try:
        proc = subprocess.run(
            cmd, env={**base, **env}, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return float("inf"), statistics.fmean(samples or [0])
    finally:
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"error: {entry} failed: {proc.stderr.strip()[-500:]}")
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    return seconds, statistics.fmean(samples or [runnable()])


def start_load(n: int, seconds: float) -> list[subprocess.Popen]:
    code = BUSY.format(seconds=seconds)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def stop_load(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def parse_policies(parser: argparse.ArgumentParser, text: str) -> list[str]:
    policies = [x.strip().lower() for x in text.split(",") if x.strip()]
    bad = [x for x in policies if x not in POLICY_NAMES and not x.isdigit()]
    if bad or not policies:
        parser.error(f"--policies takes {', '.join(POLICY_NAMES)} or numbers, got {text!r}")
    return policies


def policy_summary(seconds: dict, policies: list[str], cores: int) -> dict:
    """Per policy and entry point: quiet ACTIVE over its quiet time, its slowdown per
    load level against quiet ACTIVE, and whether that is within the fair share."""
    out: dict = {}
    for policy in policies:
        for entry, by_load in seconds[f"policy={policy}"].items():
            active = seconds.get("policy=active", {}).get(entry, {}).get("0")
            ref = min(active) if active else min(by_load["0"])
            slow = {k: min(v) / ref for k, v in by_load.items() if k != "0"}
            out.setdefault(policy, {})[entry] = {
                "quiet_vs_active": ref / min(by_load["0"]) if active else None,
                "slowdown": slow,
                "within_fair_share": {k: v <= (int(k) + cores) / cores for k, v in slow.items()},
            }
    return out


def main(argv: list[str] | None = None) -> dict | None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small smoke version")
    p.add_argument("--child", choices=("tune", "train"), help=argparse.SUPPRESS)
    p.add_argument("--entries", default="tune,train", help="comma-separated: tune, train")
    p.add_argument("--loads", default="1,3", help="CPU-bound processes per level (quiet first)")
    p.add_argument("--repeat", type=int, default=1, help="interleaved repeats; fastest kept")
    p.add_argument("--before", action="store_true", help="also measure the old settings")
    p.add_argument("--load-seconds", type=float, default=300.0, help="bound of a busy process")
    p.add_argument(
        "--policies",
        default=None,
        help="compare wait policies: active, passive, default, load, or GOMP_SPINCOUNT numbers",
    )
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.quick)
        return None
    entries = [e for e in args.entries.split(",") if e]
    if not entries or any(e not in ("tune", "train") for e in entries):
        p.error(f"--entries takes tune and/or train, got {args.entries!r}")
    try:
        loads = [0] + [int(n) for n in args.loads.split(",") if n]
    except ValueError:
        p.error(f"--loads takes comma-separated counts, got {args.loads!r}")
    if args.repeat < 1 or any(n < 0 for n in loads):
        p.error("--repeat must be at least 1 and --loads counts at least 0")
    policies = parse_policies(p, args.policies) if args.policies is not None else []
    if args.quick:
        entries, loads = ["tune"], [0, 1]
    variants = {"caviar": {}, **({"before": BEFORE} if args.before else {})}
    if policies:
        variants = {f"policy={x}": {"CAVIAR_WAIT_POLICY": x} for x in policies}
    cores = len(os.sched_getaffinity(0))
    seconds: dict = {}
    seen: dict = {}
    for _ in range(args.repeat):
        for n in loads:
            procs = start_load(n, args.load_seconds)
            try:
                time.sleep(0.5 if n else 0)
                seen.setdefault(n, []).append(os.getloadavg()[0])
                for variant, env in variants.items():
                    for entry in entries:
                        s, busy = measure(entry, args.quick, env, args.load_seconds - 1)
                        seconds.setdefault(variant, {}).setdefault(entry, {})
                        seconds[variant][entry].setdefault(str(n), []).append(s)
                        print(
                            f"{variant:15s} {entry:6s} load {n}: {s:8.2f} s "
                            f"(runnable tasks {busy:.1f}, load average {os.getloadavg()[0]:.2f})",
                            flush=True,
                        )
            finally:
                stop_load(procs)

    def slowdowns(variant: str) -> dict:
        out = {}
        for entry, by_load in seconds[variant].items():
            quiet = min(by_load["0"])
            out[entry] = {k: min(v) / quiet for k, v in by_load.items() if k != "0"}
        return out

    summary = {
        "benchmark": "under_load",
        "quick": args.quick,
        "cores": cores,
        "repeat": args.repeat,
        "slowdown_under_load": slowdowns("caviar") if "caviar" in seconds else None,
        "fair_share": {str(n): (n + cores) / cores for n in loads if n},
        "seconds": seconds,
        "load_average_at_start": {str(n): v for n, v in seen.items()},
    }
    if args.before and not policies:
        summary["slowdown_under_load_before"] = slowdowns("before")
    if policies:
        summary["policies"] = policy_summary(seconds, policies, cores)
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
