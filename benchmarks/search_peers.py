"""The peers of ``benchmarks/search.py`` (and ``search_cv.py``, ``search_anytime.py``):
scikit-learn's ``RandomizedSearchCV`` over ``MLPClassifier`` and a plain Optuna +
PyTorch loop, each over exactly the configurations it is given, timed the same way
(see ``benchmarks/search.py`` for the contest and its rules).

This file never imports caviar: the benchmarks run its functions in their own processes
through ``benchmarks/fair.py`` (``fair.run_peer("search_peers.py:run_sklearn", ...)``),
at ``n_jobs`` 1 and 2 (scikit-learn) or 1 and 2 torch threads (Optuna + PyTorch); the
data arrive as plain arrays (``fair.portable``), the configurations as dicts."""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

BATCH = 64  # every contestant's minibatch size

# scikit-learn's worker processes unpickle the scorer (finished_at) and benchmarks/ is no
# package: its functions travel by value (cloudpickle, loky's pickler), and workers
# started from here on also find this directory on their path
_HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_HERE, os.environ.get("PYTHONPATH")) if p)
try:
    import cloudpickle
except ImportError:  # loky then pickles by reference: the path above serves
    pass
else:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def finished_at(estimator, X, y) -> float:
    """A "score" that is the clock when the candidate is scored, in its worker process
    (``time.perf_counter`` is the system's monotonic clock, shared by the processes)."""
    return time.perf_counter()


def warm_sklearn_workers(X: np.ndarray, y: np.ndarray, n_jobs: int = 2) -> None:
    """Start scikit-learn's ``n_jobs`` worker processes (joblib's reusable loky pool) and run a
    one-epoch MLP search in them, before the clock: process start-up, imports and first
    calls are outside every contestant's clock (caviar's imports happen before its clock
    too, and its first call in the process is not excluded)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RandomizedSearchCV(
            MLPClassifier(max_iter=1, batch_size=BATCH, random_state=0),
            {"alpha": [1e-4, 1e-3]},
            n_iter=2,
            cv=2,
            n_jobs=n_jobs,
            random_state=0,
        ).fit(X, y)


def mlp_grid(configs: list[dict], epochs: int, alpha_scale: float = 1.0) -> tuple:
    """``MLPClassifier`` (Adam, batch :data:`BATCH`, exactly ``epochs`` epochs: no early
    stopping, no tolerance) and the grid of exactly ``configs``, every parameter a
    one-value list; ``alpha = alpha_scale * l2_kernel``. Returns ``(estimator, grid)``."""
    from sklearn.neural_network import MLPClassifier

    grid = [
        {
            "hidden_layer_sizes": [tuple(c["model.hidden"])],
            "learning_rate_init": [c["optimizer.lr"]],
            "beta_1": [c["optimizer.beta1"]],
            "alpha": [alpha_scale * c["penalty.l2_kernel"]],
        }
        for c in configs
    ]
    est = MLPClassifier(
        solver="adam",
        batch_size=BATCH,
        max_iter=epochs,
        early_stopping=False,
        n_iter_no_change=epochs + 1,
        tol=0.0,
        random_state=0,
    )
    return est, grid


def validation_search(
    data, configs: list[dict], epochs: int, alpha_scale: float = 1.0, n_jobs: int = 2
):
    """``RandomizedSearchCV(MLPClassifier, n_jobs)`` over exactly ``configs`` (every
    parameter a one-value list, so it samples them without replacement), scored on the
    validation split (``PredefinedSplit``) in accuracy and :func:`finished_at`, its worker
    pool started; ``alpha = alpha_scale * l2_kernel``. Returns ``(est, search, X, y)``."""
    from sklearn.model_selection import PredefinedSplit, RandomizedSearchCV

    X = np.concatenate([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    fold = np.r_[np.full(len(data.X_train), -1), np.zeros(len(data.X_val), dtype=int)]
    warm_sklearn_workers(X, y, n_jobs)
    est, grid = mlp_grid(configs, epochs, alpha_scale)
    search = RandomizedSearchCV(
        est,
        grid,
        n_iter=len(configs),
        cv=PredefinedSplit(fold),
        n_jobs=n_jobs,
        refit=False,
        random_state=0,
        scoring={"accuracy": "accuracy", "finished_at": finished_at},
    )
    return est, search, X, y


def run_sklearn(data, configs: list[dict], epochs: int, n_jobs: int = 2) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    est, search, X, y = validation_search(data, configs, epochs, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X, y)
        wall = time.perf_counter() - start
        scores = search.cv_results_["mean_test_accuracy"]
        best = int(np.argmax(scores))
        params = search.cv_results_["params"][best]
        model = MLPClassifier(**{**est.get_params(), **params}).fit(data.X_train, data.y_train)
    return {
        "seconds": wall,
        "val": float(scores[best]),
        "test": float(np.mean(model.predict(data.X_test) == data.y_test)),
        "time_to_best": float(search.cv_results_["mean_test_finished_at"][best]) - start,
        "time_to_best_estimate": wall * (best + 1) / len(configs),
        "n_jobs": n_jobs,
    }


def run_optuna_torch(data, configs: list[dict], epochs: int, threads: int = 1) -> dict:
    """The Optuna + PyTorch loop on ``threads`` torch threads (restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _optuna_torch(data, configs, epochs)
    finally:
        torch.set_num_threads(before)


def _optuna_torch(data, configs: list[dict], epochs: int) -> dict:
    import optuna
    import torch
    from torch import nn

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    xt = torch.as_tensor(data.X_train, dtype=torch.float32)
    yt = torch.as_tensor(data.y_train, dtype=torch.long)
    xv = torch.as_tensor(data.X_val, dtype=torch.float32)
    yv = torch.as_tensor(data.y_val, dtype=torch.long)
    k = int(data.n_classes)
    state = {"best": -1.0, "model": None, "t_best": 0.0}
    start = time.perf_counter()

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        beta1 = trial.suggest_float("beta1", 0.8, 0.99)
        l2 = trial.suggest_float("l2", 1e-6, 1e-2, log=True)
        width = trial.suggest_categorical("width", [64, 128])
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(xt.shape[1], width), nn.ReLU(), nn.Linear(width, k))
        opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(beta1, 0.999))
        gen = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            perm = torch.randperm(len(xt), generator=gen)
            for i in range(0, len(xt), BATCH):
                idx = perm[i : i + BATCH]
                loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
                loss = loss + l2 * sum((m.weight**2).sum() for m in net if hasattr(m, "weight"))
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            acc = float((net(xv).argmax(1) == yv).float().mean())
        if acc > state["best"]:
            state.update(best=acc, model=net, t_best=time.perf_counter() - start)
        return acc

    study = optuna.create_study(direction="maximize")
    for c in configs:
        study.enqueue_trial(
            {
                "lr": c["optimizer.lr"],
                "beta1": c["optimizer.beta1"],
                "l2": c["penalty.l2_kernel"],
                "width": c["model.hidden"][0],
            }
        )
    study.optimize(objective, n_trials=len(configs))
    wall = time.perf_counter() - start
    with torch.no_grad():
        pred = state["model"](torch.as_tensor(data.X_test, dtype=torch.float32)).argmax(1)
    return {
        "seconds": wall,
        "val": state["best"],
        "test": float((pred.numpy() == data.y_test).mean()),
        "time_to_best": state["t_best"],
    }


def run_sklearn_cv(
    X, y, X_test, y_test, folds: list, configs: list[dict], epochs: int, n_jobs: int = 2
) -> dict:
    """``RandomizedSearchCV(MLPClassifier, cv=folds, refit=True)`` over exactly
    ``configs`` on the training + validation rows ``X, y`` (``benchmarks/search_cv.py``);
    the refit of the best candidate is inside the clock."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import RandomizedSearchCV

    warm_sklearn_workers(X, y, n_jobs)
    est, grid = mlp_grid(configs, epochs)
    cv_search = RandomizedSearchCV(
        est, grid, n_iter=len(configs), cv=folds, n_jobs=n_jobs, refit=True, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        cv_search.fit(X, y)
        wall = time.perf_counter() - start
    test = float(np.mean(cv_search.best_estimator_.predict(X_test) == y_test))
    return {"seconds": wall, "val": float(cv_search.best_score_), "test": test, "n_jobs": n_jobs}


def run_sklearn_anytime(data, configs: list[dict], epochs: int, n_jobs: int = 2) -> dict:
    """``RandomizedSearchCV`` over exactly ``configs`` on the validation split, with each
    candidate's finish time (``benchmarks/search_anytime.py``; ``alpha = 2 · 64 · λ``)."""
    from anytime_curves import running_max
    from sklearn.exceptions import ConvergenceWarning

    _, search, X, y = validation_search(data, configs, epochs, 2 * BATCH, n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X, y)
        wall = time.perf_counter() - start
    res = search.cv_results_
    finish = [float(t) - start for t in res["mean_test_finished_at"]]
    scores = [float(s) for s in res["mean_test_accuracy"]]
    order = np.argsort(finish)
    return {
        "seconds": wall,
        "val": max(scores),
        "best_curve": running_max(list(zip(finish, scores, strict=True))),
        "evaluated_curve": [(finish[i], float(k + 1)) for k, i in enumerate(order)],
        "configs": len(configs),
        "n_jobs": n_jobs,
    }
