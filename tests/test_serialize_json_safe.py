"""caviar.serialize.json_safe: strict-JSON values from Python and numpy ones."""

import json
import math

import numpy as np

from caviar.serialize import json_safe


def test_json_safe_replaces_non_finite_and_numpy_values_recursively():
    value = {
        "a": [1.5, float("nan"), float("inf"), -float("inf"), 2, True, None, "x"],
        "b": (np.float64(0.25), np.float32(np.nan), np.int64(3), np.bool_(True)),
        "c": np.array([[1.0, np.inf], [2.0, 3.0]]),
        4: {"nested": [np.arange(2)]},
    }
    out = json_safe(value)
    assert out == {
        "a": [1.5, None, None, None, 2, True, None, "x"],
        "b": [0.25, None, 3, True],
        "c": [[1.0, None], [2.0, 3.0]],
        "4": {"nested": [[0, 1]]},
    }
    assert [type(v) for v in out["b"]] == [float, type(None), int, bool]
    json.dumps(out, allow_nan=False)  # strict JSON
    assert math.isnan(value["a"][1])  # the input is left alone
