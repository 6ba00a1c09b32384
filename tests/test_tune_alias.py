"""``caviar.tune`` is a plain function; the search package is ``caviar.tuning``; the old
paths ``caviar.tune.*`` give the same objects with a DeprecationWarning."""

import subprocess
import sys
import types

import pytest

import caviar


def test_caviar_tune_is_a_function_of_the_search_package():
    assert isinstance(caviar.tune, types.FunctionType)
    from caviar import tune
    from caviar.tuning.runner import tune as runner_tune

    assert tune is runner_tune is caviar.tune


def test_old_import_paths_give_the_same_objects_with_a_warning():
    code = (
        "import warnings, caviar\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "try:\n"
        "    from caviar.tune.storage import TrialStore\n"
        "except DeprecationWarning as w:\n"
        "    print('warned:', w)\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from caviar.tune.storage import TrialStore\n"
        "from caviar.tune import make_plan\n"
        "import caviar.tuning.storage as s, caviar.tuning.plan as p\n"
        "assert TrialStore is s.TrialStore and make_plan is p.make_plan\n"
        "assert callable(caviar.tune) and not isinstance(caviar.tune, type(s))\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "warned: caviar.tune.storage is deprecated: use caviar.tuning.storage" in out.stdout
    assert out.stdout.strip().endswith("ok")


def test_a_module_that_never_existed_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        __import__("caviar.tune.no_such_module")
