"""``caviar.tune``'s overrides (any config key), the study's default name, and the
package's names visible to type checkers without importing the engine."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import caviar
from caviar.tuning.plan import make_plan

BASE = {
    "data": {"source": "iris", "seed": 0},
    "optimizer": {"name": "adam"},
    "train": {"epochs": 6},
    "search": {"trials": 4, "space": {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}},
}


def test_overrides_take_dotted_config_keys_and_search_settings():
    plan = make_plan(
        BASE,
        {
            "train.epochs": 3,
            "model.hidden": [4],
            "search.space.model.activation": {"choice": ["relu", "tanh"]},
            "search.halving.min_epochs": 1,
            "trials": 2,
            "seed": None,  # a CLI flag not given: skipped
        },
    )
    assert plan.base["train"]["epochs"] == 3 and plan.base["model"]["hidden"] == [4]
    assert plan.settings.trials == 2 and plan.settings.halving.min_epochs == 1
    assert [d.path for d in plan.space.dimensions] == ["optimizer.lr", "model.activation"]
    assert BASE["train"]["epochs"] == 6 and "model" not in BASE  # the caller's dict untouched


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train.nope": 1}, "nope"),
        ({"train.epochs.x": 1}, "'epochs' is not a section"),
        ({"train.": 1}, "is not a config key"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_overrides_are_one_line_errors(overrides, message):
    with pytest.raises(caviar.CaviarError, match=message) as e:
        make_plan(BASE, overrides)
    assert "\n" not in str(e.value)


def test_study_name_is_the_configs_name_or_a_stable_hash(tmp_path):
    a, b = make_plan(BASE).name, make_plan(dict(BASE)).name
    assert a == b and a.startswith("tune-") and a != "tune"
    other = {**BASE, "train": {"epochs": 7}}
    assert make_plan(other).name != a
    assert make_plan({**BASE, "name": "iris_lr"}).name == "iris_lr"
    with pytest.raises(caviar.CaviarError, match="name must be a non-empty string"):
        make_plan({**BASE, "name": ""})
    path = tmp_path / "my_search.toml"
    space = '[search.space]\n"optimizer.lr" = { log_uniform = [0.001, 0.1] }\n'
    path.write_text('[data]\nsource = "iris"\n[search]\ntrials = 2\n' + space)
    assert make_plan(path).name == "my_search"


def test_train_and_tune_are_visible_to_type_checkers():
    init = Path(caviar.__file__)
    tree = ast.parse(init.read_text())
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    guarded |= {(stmt.module, a.name) for a in stmt.names}
    assert ("caviar.api", "train") in guarded and ("caviar.tuning.runner", "tune") in guarded
    assert caviar.train.__module__ == "caviar.api"
    assert caviar.tune.__module__ == "caviar.tuning.runner"


def test_import_caviar_stays_cheap():
    code = "import sys, caviar; print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
