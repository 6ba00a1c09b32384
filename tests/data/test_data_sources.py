"""Loading bundled datasets and files (caviar.data.sources)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caviar.data import BUNDLED_DATASETS, load_source, raw_from_arrays


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("iris", (150, 4)),
        ("wine", (178, 13)),
        ("breast_cancer", (569, 30)),
        ("digits", (1797, 64)),
        ("diabetes", (442, 10)),
    ],
)
def test_bundled_datasets_load_with_their_shapes(name: str, shape: tuple[int, int]) -> None:
    raw = load_source(name)
    assert raw.X.shape == shape
    assert len(raw.y) == shape[0]
    assert raw.y.name == "target"
    assert raw.name == name
    assert raw.image_shape == ((8, 8) if name == "digits" else None)


def test_bundled_names_are_the_documented_five() -> None:
    assert set(BUNDLED_DATASETS) == {"iris", "wine", "breast_cancer", "digits", "diabetes"}


def test_digits_features_are_named_pixels() -> None:
    raw = load_source("digits")
    assert list(raw.X.columns) == [f"pixel_{i}" for i in range(64)]
    assert sorted(raw.y.unique()) == list(range(10))


def test_bundled_names_ignore_case_and_dashes() -> None:
    assert load_source("Breast-Cancer").name == "breast_cancer"


def test_diabetes_features_are_unscaled() -> None:
    raw = load_source("diabetes")
    # the raw 'age' column is in years, not the pre-scaled version sklearn offers
    assert raw.X["age"].min() >= 18 and raw.X["age"].max() <= 80


def _mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [23.0, 45.5, 31.0, 52.0, 40.0, 29.0],
            "color": ["red", "green", "blue", "red", "green", "red"],
            "count": [1, 2, 3, 4, 5, 6],
            "label": ["yes", "no", "yes", "no", "yes", "no"],
        }
    )


def test_csv_round_trip_with_string_target_and_categorical(tmp_path) -> None:
    df = _mixed_frame()
    path = tmp_path / "people.csv"
    df.to_csv(path, index=False)
    raw = load_source(str(path), target="label")
    assert list(raw.X.columns) == ["age", "color", "count"]
    assert raw.name == "people.csv"
    assert raw.y.name == "label"
    assert list(raw.y) == list(df["label"])
    assert all(isinstance(v, str) for v in raw.y)
    assert list(raw.X["color"]) == list(df["color"])
    np.testing.assert_array_equal(raw.X["age"].to_numpy(), df["age"].to_numpy())
    assert raw.X["count"].dtype.kind == "i"


@pytest.mark.parametrize("ext", [".parquet", ".pq"])
def test_parquet_round_trip_keeps_dtypes(tmp_path, ext: str) -> None:
    df = _mixed_frame()
    df["color"] = df["color"].astype("category")
    path = tmp_path / f"people{ext}"
    df.to_parquet(path, index=False)
    raw = load_source(str(path), target="label")
    assert list(raw.X.columns) == ["age", "color", "count"]
    assert isinstance(raw.X["color"].dtype, pd.CategoricalDtype)
    assert list(raw.X["color"]) == list(df["color"])
    assert list(raw.y) == list(df["label"])


def test_npz_arrays_get_x_names(tmp_path) -> None:
    X = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.array(["a", "b"] * 5)
    path = tmp_path / "arrays.npz"
    np.savez(path, X=X, y=y)
    raw = load_source(str(path))
    assert list(raw.X.columns) == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(raw.X.to_numpy(), X)
    assert list(raw.y) == list(y)
    assert raw.image_shape is None


def test_npz_with_3d_images_is_flattened_with_image_shape(tmp_path) -> None:
    X = np.random.default_rng(0).random((6, 2, 3))
    path = tmp_path / "images.npz"
    np.savez(path, X=X, y=np.arange(6))
    raw = load_source(str(path))
    assert raw.X.shape == (6, 6)
    assert raw.image_shape == (2, 3)
    np.testing.assert_array_equal(raw.X.to_numpy()[1], X[1].ravel())


def test_raw_from_arrays_accepts_column_vector_target() -> None:
    raw = raw_from_arrays(np.zeros((4, 2)), np.arange(4).reshape(4, 1), target_name="t")
    assert raw.y.name == "t"
    assert list(raw.y) == [0, 1, 2, 3]


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path, raises_one_line) -> None:
    path = tmp_path / "nope.csv"
    raises_one_line(lambda: load_source(str(path), target="y"), "data file not found", str(path))


def test_unknown_dataset_name(raises_one_line) -> None:
    raises_one_line(lambda: load_source("foo"), "unknown dataset 'foo'", "iris", "wine", "diabetes")


def test_unsupported_extension(tmp_path, raises_one_line) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("a,b\n1,2\n")
    raises_one_line(lambda: load_source(str(path), target="b"), "'.txt'", "notes.txt", ".csv")


def test_directory_is_rejected(tmp_path, raises_one_line) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    raises_one_line(lambda: load_source(str(folder), target="y"), "directory", "dir.csv")


def test_ragged_csv_is_reported_with_file_name(tmp_path, raises_one_line) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    raises_one_line(lambda: load_source(str(path), target="b"), "cannot read", "ragged.csv")


def test_empty_csv(tmp_path, raises_one_line) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    raises_one_line(lambda: load_source(str(path), target="y"), "empty", "empty.csv")


def test_corrupt_parquet(tmp_path, raises_one_line) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all" * 10)
    raises_one_line(lambda: load_source(str(path), target="y"), "cannot read", "broken.parquet")


def test_corrupt_npz(tmp_path, raises_one_line) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"\x00\x01garbage")
    raises_one_line(lambda: load_source(str(path)), "cannot read", "broken.npz")


def test_truncated_npz(tmp_path, raises_one_line) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, X=np.zeros((50, 4)), y=np.zeros(50))
    path = tmp_path / "cut.npz"
    path.write_bytes(good.read_bytes()[:200])
    raises_one_line(lambda: load_source(str(path)), "cannot read", "cut.npz")


def test_missing_target_column_lists_available(tmp_path, raises_one_line) -> None:
    path = tmp_path / "t.csv"
    _mixed_frame().to_csv(path, index=False)
    raises_one_line(
        lambda: load_source(str(path), target="price"),
        "target column 'price'",
        "t.csv",
        "age, color, count, label",
    )


def test_missing_target_column_list_is_truncated(tmp_path, raises_one_line) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"c{i}": [1, 2] for i in range(30)}).to_csv(path, index=False)
    msg = raises_one_line(lambda: load_source(str(path), target="zz"), "'zz'", "(20 more)")
    assert "c29" not in msg


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_target_is_required_for_tables(tmp_path, ext: str, raises_one_line) -> None:
    path = tmp_path / f"t{ext}"
    df = _mixed_frame()
    df.to_csv(path, index=False) if ext == ".csv" else df.to_parquet(path)
    raises_one_line(lambda: load_source(str(path)), "no target column given", f"t{ext}", "label")


def test_npz_without_y(tmp_path, raises_one_line) -> None:
    path = tmp_path / "noy.npz"
    np.savez(path, X=np.zeros((3, 2)), labels=np.zeros(3))
    raises_one_line(lambda: load_source(str(path)), "noy.npz", "'y'", "labels")


def test_npz_length_mismatch(tmp_path, raises_one_line) -> None:
    path = tmp_path / "mismatch.npz"
    np.savez(path, X=np.zeros((5, 2)), y=np.zeros(4))
    raises_one_line(lambda: load_source(str(path)), "X has 5 rows but y has 4", "mismatch.npz")


def test_csv_without_rows(tmp_path, raises_one_line) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,label\n")
    raises_one_line(lambda: load_source(str(path), target="label"), "no rows", "header.csv")


def test_csv_with_only_the_target(tmp_path, raises_one_line) -> None:
    path = tmp_path / "only.csv"
    path.write_text("label\n1\n2\n")
    raises_one_line(
        lambda: load_source(str(path), target="label"), "no feature columns", "only.csv"
    )


def test_empty_npz_arrays(tmp_path, raises_one_line) -> None:
    path = tmp_path / "zero.npz"
    np.savez(path, X=np.zeros((0, 3)), y=np.zeros(0))
    raises_one_line(lambda: load_source(str(path)), "no rows", "zero.npz")


def test_bundled_dataset_rejects_a_target(raises_one_line) -> None:
    raises_one_line(lambda: load_source("iris", target="species"), "iris", "'species'")
