"""``caviar tune CONFIG.toml``: search the space in ``[search]`` with populations.

Trials go into an Optuna study (default ``RUN_DIR/study.db``; ``--resume``
continues it after a crash); the final model, leaderboard and summary go into
the run directory. Prints a progress bar over trials, then a leaderboard (or
``--json``). ``--executor ray [--address ...]`` runs the populations as Ray
tasks on a cluster (``caviar.tuning.ray_executor``). While it runs, ``caviar watch
RUN_DIR`` follows its populations and ``caviar set RUN_DIR --trial N path=value``
changes a running trial (panda mode, ``caviar.tuning.live_tune``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from caviar.cli.output import stderr_console, table_console, top_rows
from caviar.progress import trial_progress
from caviar.serialize import dumps

#: search.strategy's values (caviar.tuning.settings.SearchSettings; a test keeps them equal)
STRATEGIES = ("grid", "random", "coarse_to_fine", "tpe", "gp", "cmaes", "qmc", "nsga2", "nsga3")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="search hyperparameters ([search] section)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("config", help="TOML config with a [search] section")
    p.add_argument("-o", "--out", help="run directory (default: runs/<config name>)")
    p.add_argument("--storage", help="Optuna storage URL (default: sqlite:///RUN_DIR/study.db)")
    p.add_argument("--resume", action="store_true", help="continue the study in the storage")
    p.add_argument("--trials", type=int, help="override search.trials")
    p.add_argument("--time-budget", type=float, help="override search.time_budget (seconds)")
    p.add_argument("--strategy", choices=STRATEGIES, help="override search.strategy")
    p.add_argument("--seed", type=int, help="override search.seed")
    p.add_argument(
        "--from",
        dest="warm_start",
        metavar="RUN",
        help="warm start: the adaptive strategy first sees the finished trials of run "
        "directory RUN (same space); overrides search.warm_start",
    )
    p.add_argument("--cv", type=int, help="override search.cv (k-fold cross-validation)")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where populations run: this process (default) or a Ray cluster",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="local: populations trained side by side, one thread each (default: one per "
        "core; 1 = one after another on all cores)",
    )
    p.add_argument(
        "--address",
        help="ray: cluster address host:port, ray://host:port or auto (default: start "
        "a local Ray instance)",
    )
    p.add_argument(
        "--cpus-per-population", type=float, default=1.0, help="ray: CPUs per population task"
    )
    p.add_argument(
        "--gpus-per-population",
        type=float,
        default=0.0,
        help="ray: GPUs per population task (fractional: 0.25 = four share a GPU)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        default=3,
        help="ray: reruns of a population whose worker died, before its trials fail",
    )
    p.add_argument("--top", type=top_rows, default=10, help="leaderboard rows to print")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from caviar.tuning.dispatch import ExecutorSpec
    from caviar.tuning.live_tune import keep_search_logs, open_search_live_dir
    from caviar.tuning.output import leaderboard
    from caviar.tuning.runner import make_plan, tune

    overrides = {
        "trials": args.trials,
        "time_budget": args.time_budget,
        "strategy": args.strategy,
        "seed": args.seed,
        "cv": args.cv,
        "warm_start": args.warm_start,
    }
    plan = make_plan(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / plan.name
    show = not (args.quiet or args.json)
    live = None
    noted = False

    def note_live() -> None:  # panda mode is the other process's: said once
        nonlocal noted
        if live is None and not noted:
            stderr_console.print(
                f"note: {out}.live belongs to another running process: caviar watch/set "
                "follow that one",
                soft_wrap=True,
            )
            noted = True

    live = open_search_live_dir(out)  # panda mode: caviar watch / caviar set --trial
    finished = False
    try:
        # the bar appears once training starts (errors before it stay one line)
        with trial_progress(plan.settings.trials, enabled=show, console=stderr_console) as bar:

            def on_progress(info: dict[str, Any]) -> None:
                note_live()
                bar(info)

            def on_epoch(*_: Any) -> None:
                note_live()
                bar.start()

            result = tune(
                args.config,
                out=out,
                storage=args.storage,
                resume=args.resume,
                plan=plan,
                executor=ExecutorSpec(
                    name=args.executor,
                    address=args.address,
                    cpus_per_population=args.cpus_per_population,
                    gpus_per_population=args.gpus_per_population,
                    max_retries=args.max_retries,
                    workers=args.workers,
                ),
                on_progress=on_progress,
                on_epoch=on_epoch,
                live_dir=live,
                verbose=0,
            )
        finished = True
    finally:
        if live is not None:
            if finished:
                keep_search_logs(live, out)
            shutil.rmtree(live, ignore_errors=True)
    info = result.outputs  # written by tune(): model, leaderboard, summary, report
    if args.json:
        sys.stdout.write(dumps(info) + "\n")
        return 0
    console = table_console()
    console.print(_board_table(leaderboard(result).head(args.top), info.get("cv")))
    _print_summary(console, result, info, out)
    return 0


def _print_summary(console, result, info: dict, out: Path) -> None:
    """The lines under the leaderboard: counts, the best trial, the rebuilt members,
    the metric choice, the baseline and diagnosis, where the model and report are."""
    score = info["score_name"]
    c = result.counts
    console.print(
        f"{len(result.trials)} trials: {c.get('complete', 0)} complete, "
        f"{c.get('early_stopped', 0)} early-stopped, {c.get('converged', 0)} converged, "
        f"{c.get('pruned', 0)} pruned, "
        f"{c.get('diverged', 0)} diverged, {c.get('failed', 0)} failed "
        f"in {result.seconds:.1f}s (storage {result.storage_seconds:.2f}s)"
    )
    cv = info.get("cv")
    spread = f" ± {info['cv_std']:.4f} over {cv} folds" if cv else ""
    console.print(
        f"best trial {result.best['index']}: val {score} {result.val_score:.4f}{spread}, "
        f"test {score} {result.test_score:.4f} (test split used once, for the final model)"
    )
    front = info.get("pareto_front")
    if front:  # several objectives: the front's size and how the final model was chosen
        console.print(
            f"Pareto front of {', '.join(info['objectives'])}: {len(front)} trials "
            f"({', '.join(str(p['trial']) for p in front)}); final model by "
            f"select = {info['select']!r}"
        )
    if result.rebuilt:  # chosen trials whose weights were not in this process
        kinds = Counter(result.rebuilt.values())
        how = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        console.print(
            f"final model: {len(result.rebuilt)} member(s) trained by another process, "
            f"retrained from the study ({how}; see caviar.tuning.rebuild)"
        )
    from caviar.tuning.metric_choice import describe

    choice = describe(info.get("metric_choice"))
    if choice is not None:
        console.print(choice)
    b, v = result.baseline, result.verdict
    console.print(
        f"baseline ({b['name']}): val {b['val_score']:.4f}, test {b['test_score']:.4f}; "
        f"diagnosis: {v['verdict']} ({v['reason']})"
    )
    if "trees" in v:
        t = v["trees"]
        console.print(f"trees ({t['name']}, {t.get('metric')}): {t['verdict']} ({t['reason']})")
    console.print(f"saved {out / 'model'}")
    if "report" in info:
        console.print(f"report: {info['report']}", soft_wrap=True)


def _board_table(board, cv: int | None) -> Table:
    """The printed leaderboard: short headers, no column cut or wrapped."""
    board = board.drop(columns=["val_loss", "epochs_run"], errors="ignore")
    if "stopped_by" in board and board["stopped_by"].isna().all():
        board = board.drop(columns=["stopped_by"])  # no trial was cut by the time budget
    board = board.drop(columns=[c for c in board.columns if str(c).startswith("fold_")])
    short = {"val_score": "val", "train_score": "train", "best_epoch": "ep", "cv_std": "± std"}
    title = (
        f"leaderboard ({cv}-fold cross-validation, mean)"
        if cv
        else "leaderboard (validation split)"
    )
    table = Table(box=box.SIMPLE_HEAD, title=title, pad_edge=False)
    for col in board.columns:
        name = short.get(str(col), str(col).rsplit(".", 1)[-1])
        width = max([len(name), *(len(_fmt(v)) for v in board[col])])  # never cut a value
        table.add_column(name, justify="right", no_wrap=True, min_width=width)
    for _, row in board.iterrows():
        table.add_row(*(_fmt(v) for v in row))
    return table


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
