"""The study writer: one transaction per population, read back exactly as Optuna's own;
the fast path is guarded (tested Optuna release and schema only)."""

import datetime
import math

import optuna

from caviar.tuning.space import parse_space
from caviar.tuning.storage import TrialStore

SPACE = parse_space(
    {
        "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
        "train.patience": {"int_uniform": [2, 9]},
        "model.hidden": {"choice": [[8], [16, 8]]},
    },
    {"data": {"source": "iris"}},
)


def rows():
    out = []
    for i, (status, score) in enumerate(
        [("complete", 0.9), ("pruned", 0.5), ("diverged", float("nan")), ("failed", None)]
    ):
        out.append(
            {
                "index": i,
                "status": status,
                "val_score": score,
                "round": 0,
                "params": {
                    "optimizer.lr": 10 ** (-1 - i / 2),
                    "train.patience": 3 + i,
                    "model.hidden": [16, 8] if i % 2 else [8],
                },
                "history": {
                    "val_score": [0.1, 0.2, float("nan") if status == "diverged" else 0.3],
                    "val_loss": [1.0, 0.9, 0.8],
                },
                "started": 1_700_000_000.25 + i,
                "ended": 1_700_000_002.5 + 2 * i,
            }
        )
    return out


def test_bulk_write_matches_optunas_add_trials(tmp_path):
    bulk = TrialStore(f"sqlite:///{tmp_path / 'a.db'}", "s", create=True)
    bulk.write(SPACE, rows())
    bulk.write(SPACE, [dict(r, index=r["index"] + 10) for r in rows()])
    plain = TrialStore(f"sqlite:///{tmp_path / 'b.db'}", "s", create=True)
    plain._add_all = plain.study.add_trials  # Optuna's own path, one trial at a time
    plain.write(SPACE, rows())
    plain.write(SPACE, [dict(r, index=r["index"] + 10) for r in rows()])
    a = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'a.db'}").trials
    b = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'b.db'}").trials
    assert len(a) == len(b) == 8
    for x, y in zip(a, b, strict=True):
        assert x.number == y.number and x.state == y.state
        assert x.params == y.params and x.distributions == y.distributions
        assert x.user_attrs == y.user_attrs
        assert (x.value is None and y.value is None) or math.isclose(x.value, y.value)
        assert x.datetime_start == y.datetime_start and x.datetime_complete == y.datetime_complete
        assert x.duration.total_seconds() > 0
        assert list(x.intermediate_values) == list(y.intermediate_values) == [1, 2, 3]
        for step in (1, 2, 3):  # NaN (a diverged epoch) survives as NaN on both paths
            u, v = x.intermediate_values[step], y.intermediate_values[step]
            assert u == v or (math.isnan(u) and math.isnan(v))
    assert sorted(bulk.finished()) == [0, 1, 2, 3, 10, 11, 12, 13]
    states = [t.state for t in a[:4]]
    T = optuna.trial.TrialState
    assert states == [T.COMPLETE, T.PRUNED, T.FAIL, T.FAIL]
    assert a[1].value == 0.5  # a pruned trial keeps its best validation score
    assert a[0].user_attrs["curve:val_loss"] == [1.0, 0.9, 0.8] and "record" not in a[0].user_attrs
    assert a[0].datetime_start == datetime.datetime.fromtimestamp(1_700_000_000.25)
    assert a[0].duration == datetime.timedelta(seconds=2.25)


def test_the_fast_path_is_used_only_on_the_tested_optuna_and_schema(tmp_path, monkeypatch):
    """Optuna 5.0 at schema v3.2.0.a (the pinned release): the fast path; another release
    or schema revision: Optuna's public API, which stores the same trials."""
    import caviar.tuning.storage_sql as sql
    from caviar.tuning.storage import trial_dict

    assert optuna.__version__.startswith("5.0.")  # constraints.txt pins the tested release
    fast = TrialStore(f"sqlite:///{tmp_path / 'f.db'}", "s", create=True)
    assert fast.fast is not None
    fast.write(SPACE, rows())
    for name, value in (("TESTED", ("4.9",)), ("SCHEMA", "v9.9.9")):
        with monkeypatch.context() as m:
            m.setattr(sql, name, value)
            public = TrialStore(f"sqlite:///{tmp_path / name}.db", "s", create=True)
            assert public.fast is None
            assert public.claim([0, 1, 2, 3]) == [0, 1, 2, 3]
            public.write(SPACE, rows())
            assert public.claim([0, 1, 4]) == [4]  # finished ones are not claimed again
            assert public.pending_elsewhere([0, 1, 4]) == []
            got = sorted(public.finished_records(), key=lambda d: d["index"])
            want = sorted(fast.finished_records(), key=lambda d: d["index"])
            assert (
                got
                == want
                == sorted(
                    (trial_dict(t) for t in fast.finished().values()), key=lambda d: d["index"]
                )
            )
            public.close()


def test_claims_exclude_finished_and_live_claims(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    s = TrialStore(url, "s", create=True)
    s.write(SPACE, rows()[:1])
    assert s.claim([0, 1, 2]) == [1, 2]  # 0 is finished
    # a claim by another live process (pid 1 on this host) is respected; a dead one is not
    import socket

    s.storage.set_study_system_attr(s.study_id, "claim:5", f"{socket.gethostname()}:1")
    s.storage.set_study_system_attr(s.study_id, "claim:6", f"{socket.gethostname()}:999999999")
    assert s.claim([5, 6]) == [6]


def test_finished_records_from_memory_match_the_study(tmp_path):
    """Trials a store wrote come back from memory exactly as a fresh reader gets them,
    including trials written by another store on the same study and repeated indices."""
    from caviar.tuning.storage import trial_dict

    url = f"sqlite:///{tmp_path / 'r.db'}"
    a = TrialStore(url, "s", create=True)
    a.write(SPACE, rows())
    b = TrialStore(url, "s", create=False)
    b.write(SPACE, [dict(r, index=r["index"] + 10) for r in rows()])
    a.write(SPACE, [dict(rows()[0], val_score=0.7)])  # index 0 again: the latest wins

    reader = TrialStore(url, "s", create=False)
    expected = [trial_dict(t) for t in reader.finished().values()]
    assert len(expected) == 8 and [e["val_score"] for e in expected if e["index"] == 0] == [0.7]

    def key(d):
        return d["index"]

    for store in (a, b, reader):
        got = store.finished_records()
        assert sorted(got, key=key) == sorted(expected, key=key)
    only_a = TrialStore(f"sqlite:///{tmp_path / 'o.db'}", "s", create=True)
    only_a.write(SPACE, rows())
    fresh = TrialStore(f"sqlite:///{tmp_path / 'o.db'}", "s", create=False)
    mem = sorted(only_a.finished_records(), key=key)
    assert mem == sorted((trial_dict(t) for t in fresh.finished().values()), key=key)
    history = {"val_score": [0.1, 0.2, 0.3], "val_loss": [1.0, 0.9, 0.8]}
    assert mem[0]["params"]["model.hidden"] == "[8]" and mem[0]["history"] == history
    assert mem[2]["history"]["val_score"] == [0.1, 0.2, None]  # NaN reads back as null
    mem[0]["history"]["val_score"].append(9)  # callers own their copies
    assert only_a.finished_records()[0]["history"] == history


def test_sqlite_study_logs_ahead_while_open_and_is_one_plain_file_after_close(tmp_path):
    import sqlite3

    db = tmp_path / "w.db"
    s = TrialStore(f"sqlite:///{db}", "s", create=True)
    s.write(SPACE, rows())
    with s.storage.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    s.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.db", "w.db.lock"]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # read-only opens need no log
    assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert con.execute("SELECT count(*) FROM trials").fetchone() == (4,)
    con.close()


def test_a_study_written_with_one_record_attribute_still_reads():
    """Studies of caviar before intermediate values kept the record in one attribute."""
    from caviar.tuning.storage import trial_dict

    record = {"index": 3, "status": "pruned", "val_score": 0.5, "history": {"val_score": [0.5]}}
    dist = {"optimizer.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState.PRUNED,
        value=0.5,
        params={"optimizer.lr": 0.01},
        distributions=dist,
        user_attrs={"index": 3, "status": "pruned", "record": record},
    )
    assert trial_dict(t) == {**record, "params": {"optimizer.lr": 0.01}}


def test_a_long_search_stops_keeping_its_written_trials_in_memory(tmp_path, monkeypatch):
    """Past WRITTEN_CACHE trials a store drops its in-memory copies (memory flat in any
    search length) and reads the study back at the end: the same records."""
    import caviar.tuning.storage as storage
    from caviar.tuning.storage import trial_dict

    monkeypatch.setattr(storage, "WRITTEN_CACHE", 6)
    url = f"sqlite:///{tmp_path / 'long.db'}"
    store = TrialStore(url, "s", create=True)
    store.write(SPACE, rows())
    assert len(store._written) == 4  # under the cap: kept
    store.write(SPACE, [dict(r, index=r["index"] + 4) for r in rows()])
    assert store._written == {} and not store._caching  # 8 > 6: none kept from now on
    store.write(SPACE, [dict(r, index=r["index"] + 8) for r in rows()])
    assert store._written == {}
    fresh = TrialStore(url, "s", create=False)
    expected = sorted((trial_dict(t) for t in fresh.finished().values()), key=lambda d: d["index"])
    got = sorted(store.finished_records(), key=lambda d: d["index"])
    assert len(got) == 12 and got == expected
