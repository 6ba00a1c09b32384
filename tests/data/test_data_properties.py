"""Property tests for the preprocessor on random mixed-type frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caviar.data import Preprocessor

_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_category = st.one_of(
    st.sampled_from(["a", "b", "c", "d", "long name", "ünï"]),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
)


@st.composite
def mixed_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A frame with 0-3 numeric and 0-3 categorical columns (at least one column)."""
    n = draw(st.integers(min_value=1, max_value=25))
    n_num = draw(st.integers(min_value=0, max_value=3))
    n_cat = draw(st.integers(min_value=0 if n_num else 1, max_value=3))
    data: dict[str, object] = {}
    for i in range(n_num):
        data[f"num{i}"] = np.array(draw(st.lists(_finite, min_size=n, max_size=n)))
    for i in range(n_cat):
        kind = draw(st.sampled_from(["object", "category", "bool", "str"]))
        if kind == "bool":
            values: list[object] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        elif kind == "str":
            values = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
        else:
            values = draw(st.lists(_category, min_size=n, max_size=n))
        dtype = {"object": object, "category": "category", "bool": bool, "str": "str"}[kind]
        data[f"cat{i}"] = pd.Series(values, dtype=dtype)
    names = list(data)
    order = draw(st.permutations(names))
    frame = pd.DataFrame({k: data[k] for k in order})
    return (
        frame,
        [c for c in order if c.startswith("num")],
        [c for c in order if c.startswith("cat")],
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_frames(), st.data())
def test_transform_width_finiteness_and_json_round_trip(case, data) -> None:
    frame, numeric, categorical = case
    labels = data.draw(
        st.lists(st.sampled_from(["u", "v"]), min_size=len(frame), max_size=len(frame))
    )
    pre = Preprocessor("classification").fit(frame, labels, classes=["u", "v"])
    X = pre.transform(frame)
    n_categories = sum(len(pd.unique(frame[c].astype(object))) for c in categorical)
    assert X.shape == (len(frame), len(numeric) + n_categories)
    assert X.dtype == np.float64
    assert np.isfinite(X).all()
    # every categorical block is one-hot on the rows it was fitted on
    for spec in pre.columns:
        if hasattr(spec, "categories"):
            block = [pre.feature_names.index(f"{spec.name}={v}") for v in spec.categories]
            np.testing.assert_array_equal(X[:, block].sum(axis=1), 1.0)
    # standardized numeric columns: mean 0, and std 1 unless the column is constant
    for c in numeric:
        col = X[:, pre.feature_names.index(c)]
        assert abs(col.mean()) < 1e-6
        if frame[c].nunique() > 1:
            assert abs(col.std() - 1.0) < 1e-6
    again = Preprocessor.from_json(json.loads(json.dumps(pre.to_json())))
    assert again.to_json() == pre.to_json()
    np.testing.assert_array_equal(again.transform(frame), X)
    np.testing.assert_array_equal(again.encode_labels(labels), pre.encode_labels(labels))
