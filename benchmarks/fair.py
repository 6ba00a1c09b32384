"""Fair peers: every contestant in its own fresh process, each peer at its best setting.

A ratio against a peer is only honest when the peer runs the way its own users run it.
This module (standard library only: a peer may import it) gives every benchmark the
same rules:

* **Own process.** A peer runs in a fresh ``sys.executable`` process that must not
  import caviar: a bootstrap runs it and reports, at its end, whether any ``caviar``
  module was loaded (:class:`PeerError` if so). Caviar runs in its own process too, at
  its defaults (:func:`run_caviar`), so neither one inherits the other's OpenMP runtime,
  threads or warm caches.
* **The peer's users' environment.** :func:`peer_environment` is the environment this
  process started with (read when this module is first imported), less everything Caviar
  sets: every ``CAVIAR_*`` variable and the OpenMP wait settings (``OMP_WAIT_POLICY``,
  ``GOMP_SPINCOUNT``, ``KMP_BLOCKTIME``) unless the user had set them before caviar was
  imported (``caviar.openmp.USER_WAIT_SETTINGS`` records those). The bootstrap reports
  the variables the peer saw; a ``CAVIAR_*`` among them is a :class:`PeerError`.
* **Best of a documented set.** :func:`run_peer` runs the peer once per setting (and
  ``repeat`` times each) and keeps the fastest: :data:`TORCH_THREADS` for PyTorch loops
  (``torch.set_num_threads`` 1 and 2), :data:`SKLEARN_JOBS` for scikit-learn
  (``n_jobs`` 1 and 2). The result names the winning ``setting`` and lists every try.
* **Same data.** Data travels to the peer in its keyword arguments (pickled numpy arrays,
  :func:`portable` strips Caviar's classes) or is regenerated from the same seed.

Every benchmark's command line shares two helpers from here too: :func:`load_average`
(the machine's load beside each result) and :func:`check_at_least` (a flag below its least
value is a one-line usage error, exit 2).

A peer is either a script (``"name.py"``: run as ``__main__`` with ``args`` and the
setting as flags, ``{"n_jobs": 2}`` -> ``--n-jobs 2``; its last JSON line printed is its
result) or a function (``"name.py:function"``: called with ``kwargs`` and the setting as
keyword arguments; it returns a JSON-ready dict). Either result has a ``"seconds"`` key.

Examples
--------
>>> import fair                                     # doctest: +SKIP
>>> best = fair.run_peer(                           # doctest: +SKIP
...     "population_peers.py", ["torch", "--data", npz], fair.TORCH_THREADS)
>>> best["seconds"], best["setting"], best["tried"]  # doctest: +SKIP
(23.9, {'threads': 2}, [{'setting': {'threads': 1}, 'seconds': 41.3}, ...])
>>> fair.run_peer("search_peers.py:run_sklearn",     # doctest: +SKIP
...     kwargs={"data": fair.portable(data), "configs": configs, "epochs": 20},
...     settings=fair.SKLEARN_JOBS)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import types
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: PyTorch loops: intra-op threads tried (``torch.set_num_threads``), flag ``--threads``.
TORCH_THREADS: tuple[dict, ...] = ({"threads": 1}, {"threads": 2})
#: scikit-learn: worker processes tried (``n_jobs``), flag ``--n-jobs``.
SKLEARN_JOBS: tuple[dict, ...] = ({"n_jobs": 1}, {"n_jobs": 2})
#: The OpenMP wait settings Caviar may choose for its own process.
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
_USER_ENVIRONMENT = dict(os.environ)  # as this process started (before caviar, if any)
_CHECK = "FAIR-CHECK "

_BOOT = r"""
import importlib.util, json, os, pickle, runpy, sys
target, kwargs_file, *args = sys.argv[1:]
seen = {k: v for k, v in os.environ.items() if k.startswith("CAVIAR_") or k in WAIT}
path, _, function = target.partition(":")
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
if function:
    spec = importlib.util.spec_from_file_location("fair_peer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fair_peer"] = module
    spec.loader.exec_module(module)
    with open(kwargs_file, "rb") as f:
        kwargs = pickle.load(f)
    print(json.dumps(getattr(module, function)(**kwargs)), flush=True)
else:
    sys.argv = [path, *args]
    runpy.run_path(path, run_name="__main__")
loaded = sorted(m for m in sys.modules if m == "caviar" or m.startswith("caviar."))
print(CHECK + json.dumps({"caviar_modules": loaded[:5], "environment": seen}), flush=True)
"""
_BOOT = f"WAIT, CHECK = {WAIT_VARIABLES!r}, {_CHECK!r}\n" + _BOOT


class PeerError(RuntimeError):
    """A peer failed, printed no result, imported caviar or saw Caviar's variables."""


def peer_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a user of the peer would have: ``environ`` (default: this
    process's environment at start) without ``CAVIAR_*`` and with the wait settings of
    :data:`WAIT_VARIABLES` as the user set them before caviar was imported."""
    env = {k: v for k, v in (environ or _USER_ENVIRONMENT).items() if not k.startswith("CAVIAR_")}
    openmp = sys.modules.get("caviar.openmp")
    recorded = getattr(openmp, "USER_WAIT_SETTINGS", None)
    if recorded is not None:
        for name in WAIT_VARIABLES:
            env.pop(name, None)
            if recorded.get(name) is not None:
                env[name] = recorded[name]
    return env


def portable(data: object, names: Sequence[str] = ()) -> types.SimpleNamespace:
    """A prepared data set's arrays and sizes in a plain namespace (picklable without
    caviar): ``X_*``/``y_*`` splits, ``n_classes``, ``task``, ``input_shape`` and
    ``names``."""
    keep = [f"{a}_{s}" for a in "Xy" for s in ("train", "val", "test")]
    keep += ["n_classes", "task", "input_shape", *names]
    return types.SimpleNamespace(**{k: getattr(data, k) for k in keep if hasattr(data, k)})


def load_average() -> list:
    """``[1-minute load average, runnable tasks now]`` from ``/proc/loadavg`` (or None)."""
    try:
        fields = Path("/proc/loadavg").read_text().split()
        return [float(fields[0]), int(fields[3].split("/")[0])]
    except (OSError, IndexError, ValueError):
        return [None, None]


def check_at_least(parser: argparse.ArgumentParser, args, lows: dict[str, int]) -> None:
    """A usage error (exit 2, ``--name must be at least LOW, got VALUE``) for the first
    integer flag of ``lows`` (``{"dest": least value}``) below its least value."""
    for name, low in lows.items():
        value = getattr(args, name)
        if value < low:
            parser.error(f"--{name.replace('_', '-')} must be at least {low}, got {value}")


def setting_flags(setting: dict) -> list[str]:
    """``{"n_jobs": 2}`` -> ``["--n-jobs", "2"]``."""
    return [x for k, v in setting.items() for x in (f"--{k.replace('_', '-')}", str(v))]


def run_process(
    target: str,
    args: Sequence[str] = (),
    kwargs: dict | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[dict, dict]:
    """Run ``target`` (``"file.py"`` or ``"file.py:function"``, relative to benchmarks/)
    once in a fresh process; returns ``(result, check)`` where ``check`` has the caviar
    modules the process loaded and the Caviar/wait variables it saw at start."""
    path, _, function = target.partition(":")
    path = str(HERE / path)
    with tempfile.TemporaryDirectory(prefix="caviar-fair-") as tmp:
        kwargs_file = os.path.join(tmp, "kwargs.pkl")
        with open(kwargs_file, "wb") as f:
            pickle.dump(kwargs or {}, f)
        cmd = [sys.executable, "-c", _BOOT, f"{path}:{function}" if function else path]
        proc = subprocess.run(
            [*cmd, kwargs_file, *args],
            capture_output=True,
            text=True,
            env=_USER_ENVIRONMENT if env is None else env,
            timeout=timeout,
        )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith(_CHECK):
        sys.stderr.write(proc.stderr[-3000:])
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PeerError(f"{Path(path).name} {' '.join(args)} failed: {last}")
    check = json.loads(lines[-1][len(_CHECK) :])
    for line in reversed(lines[:-1]):
        if line.startswith("{"):
            return json.loads(line), check
    raise PeerError(f"{target} printed no JSON result")


def _or_inf(value: float | None) -> float:
    return float("inf") if value is None else value


def _best(target, args, kwargs, settings, repeat, key, env, verify) -> dict:
    tries = []
    for _ in range(repeat):  # interleaved: a slow spell of the machine hits every setting
        for setting in settings:
            before = load_average()
            if ":" in target:
                out, check = run_process(target, args, {**(kwargs or {}), **setting}, env)
            else:
                out, check = run_process(target, [*args, *setting_flags(setting)], kwargs, env)
            verify(target, check)
            tries.append((out, setting, check, [before, load_average()]))
    out, setting, check, _ = min(tries, key=lambda t: _or_inf(t[0][key]))
    return {
        **out,
        "setting": setting,
        "tried": [{"setting": s, key: o[key], "load": load} for o, s, _, load in tries],
        "caviar_modules": check["caviar_modules"],
        "environment": check["environment"],
    }


def run_peer(
    target: str,
    args: Sequence[str] = (),
    settings: Sequence[dict] = ({},),
    kwargs: dict | None = None,
    repeat: int = 1,
    key: str = "seconds",
    allow_caviar: bool = False,
) -> dict:
    """Run a peer in fresh processes, once per setting per repeat, in
    :func:`peer_environment`; return the run with the least ``key`` with ``setting``
    (the winner), ``tried`` (every run's setting, ``key`` and load before/after) and what
    the process loaded and saw. ``allow_caviar`` only for a peer that drives Caviar's own
    estimator (``sklearn_search.py``: scikit-learn's search over ``CaviarClassifier``).

    Raises
    ------
    PeerError
        The peer failed, imported caviar (unless ``allow_caviar``) or saw ``CAVIAR_*``.
    """

    def verify(name: str, check: dict) -> None:
        if check["caviar_modules"] and not allow_caviar:
            raise PeerError(f"peer {name} imported {check['caviar_modules'][0]}")
        leaked = [k for k in check["environment"] if k.startswith("CAVIAR_")]
        if leaked:
            raise PeerError(f"peer {name} saw Caviar's variable {leaked[0]}")

    best = _best(target, args, kwargs, settings, repeat, key, peer_environment(), verify)
    return {**best, "own_process": True}


def process_checks(**runs: dict) -> dict:
    """For a benchmark's JSON: each run's own-process flag, the caviar modules it loaded
    and the Caviar/wait variables it saw (``name=result`` of :func:`run_peer`)."""
    keys = ("own_process", "caviar_modules", "environment")
    return {name: {k: run.get(k) for k in keys} for name, run in runs.items()}


def run_caviar(
    target: str,
    args: Sequence[str] = (),
    kwargs: dict | None = None,
    repeat: int = 1,
    key: str = "seconds",
) -> dict:
    """Run Caviar's contestant in fresh processes (``repeat`` times) at its defaults, in
    the user's environment as it was at start; the run with the least ``key``, with
    ``tried`` as in :func:`run_peer`."""
    best = _best(target, args, kwargs, ({},), repeat, key, dict(_USER_ENVIRONMENT), lambda *_: None)
    return {**best, "own_process": True}
