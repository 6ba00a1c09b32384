"""Export files: what they record, that they run without Caviar, and every refusal (one
line, exit 2 from the CLI, nothing written, no earlier file lost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from export_models import raw_rows, train_table

from caviar.cli.main import main
from caviar.errors import CaviarError
from caviar.export import encode_rows, read_export_metadata
from caviar.model import TrainedModel


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A saved one-member MLP of the categorical table, inside a run directory."""
    run_dir = tmp_path_factory.mktemp("run")
    train_table(run_dir).best_model.save(run_dir / "model")
    return run_dir / "model"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_files_record_the_input_columns_and_categories(model_dir, tmp_path):
    model = TrainedModel.load(model_dir)
    for name in ("m.onnx", "m.pt"):
        if name.endswith(".onnx"):
            pytest.importorskip("onnxruntime")
        model.export(tmp_path / name)
        meta = read_export_metadata(tmp_path / name)
        assert meta["input_columns"] == model.preprocessor.input_columns
        assert meta["input_name"] == "features" and meta["output_name"] == "probabilities"
        assert meta["classes"] == ["high", "low", "mid"]
        city = next(c for c in meta["columns"] if c["name"] == "city")
        assert city["kind"] == "categorical" and city["categories"] == sorted(city["categories"])
        assert meta["export_format"] == ("onnx" if name.endswith(".onnx") else "torchscript")
    onnx = pytest.importorskip("onnx")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props["input_columns"]) == model.preprocessor.input_columns


# run in a fresh interpreter where importing caviar fails
WITHOUT_CAVIAR = """
import sys, json
sys.modules["caviar"] = None
import numpy as np, torch
x = np.load(sys.argv[1])
out = {"ts": torch.jit.load(sys.argv[2])(torch.as_tensor(x)).tolist()}
if sys.argv[3] != "-":
    import onnxruntime as ort
    out["onnx"] = ort.InferenceSession(sys.argv[3]).run(None, {"features": x})[0].tolist()
print(json.dumps(out))
"""


def test_exported_files_run_without_caviar(model_dir, tmp_path):
    model = TrainedModel.load(model_dir)
    rows = raw_rows(model)
    np.save(tmp_path / "x.npy", encode_rows(model, rows))
    model.export(tmp_path / "m.pt")
    onnx_path = "-"
    try:
        import onnxruntime  # noqa: F401

        onnx_path = str(model.export(tmp_path / "m.onnx"))
    except ImportError:
        pass
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_CAVIAR, str(tmp_path / "x.npy"), str(tmp_path / "m.pt")]
        + [onnx_path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    outs = json.loads(proc.stdout.strip().splitlines()[-1])
    for got in outs.values():
        np.testing.assert_allclose(np.array(got), model.predict_proba(rows), atol=1e-5)
    assert len(outs) == (1 if onnx_path == "-" else 2)


def test_cli_exports_a_run_directory_and_a_model_directory(model_dir, tmp_path, capsys):
    assert main(["export", str(model_dir.parent), str(tmp_path / "a.pt")]) == 0
    assert "wrote" in capsys.readouterr().err
    assert main(["export", str(model_dir), str(tmp_path / "b.bin"), "--format", "torchscript"]) == 0
    meta = read_export_metadata(tmp_path / "b.bin", "torchscript")
    assert meta["export_format"] == "torchscript" and meta["input_dtype"] == "float32"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["{missing}", "{out}/m.pt"], "model directory not found"),
        (["{model}", "{out}/m.bin"], "cannot tell the export format from 'm.bin'"),
        (["{model}", "{out}/m.txt", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["{model}", "{out}/taken.pt"], "already exists"),
        (["{model}", "{out}/dir.onnx"], "is a directory"),
    ],
    ids=["bad-model-path", "bad-suffix", "bad-format", "existing-file", "directory"],
)
def test_cli_refusals_are_one_line_with_exit_2(model_dir, tmp_path, capsys, args, needle):
    (tmp_path / "taken.pt").write_text("keep me")
    (tmp_path / "dir.onnx").mkdir()
    argv = ["export"] + [
        a.format(missing=tmp_path / "nope", model=model_dir, out=tmp_path) for a in args
    ]
    before = sorted(os.listdir(tmp_path))
    assert exit_code(argv) == 2
    assert needle in one_error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no temp file left
    assert (tmp_path / "taken.pt").read_text() == "keep me"


def exit_code(argv: list[str]) -> int:
    """``main``'s status, also for usage errors (argparse exits with SystemExit(2))."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


def test_overwrite_replaces_and_only_when_asked(model_dir, tmp_path, capsys):
    target = tmp_path / "m.pt"
    target.write_text("old")
    model = TrainedModel.load(model_dir)
    with pytest.raises(CaviarError, match="already exists"):
        model.export(target)
    assert target.read_text() == "old"
    assert main(["export", str(model_dir), str(target), "--overwrite"]) == 0
    assert read_export_metadata(target)["task"] == "classification"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_missing_onnx_packages_give_the_install_hint(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript -> ImportError
    assert main(["export", str(model_dir), str(tmp_path / "m.onnx")]) == 2
    line = one_error_line(capsys)
    assert "onnxscript missing" in line and "pip install 'caviar[export]'" in line
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_in_python_and_a_float16_export_are_refused(model_dir, tmp_path):
    import torch

    model = TrainedModel.load(model_dir)
    with pytest.raises(CaviarError, match="unknown export format 'pdf'"):
        model.export(tmp_path / "m.pt", "pdf")
    with pytest.raises(CaviarError, match="float32 or float64"):
        model.export(tmp_path / "m.pt", dtype=torch.float16)
    assert list(tmp_path.iterdir()) == []


def test_export_help_and_a_bad_suffix_import_no_engine():
    probe = (
        "import sys\nfrom caviar.cli.main import main\n"
        "for argv in (['export', '--help'], ['export', 'm', 'out.bin']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('LOADED', [m for m in ('torch', 'pandas', 'numpy') if m in sys.modules])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip().splitlines()[-1] == "LOADED []"
    assert "cannot tell the export format from 'out.bin'" in proc.stderr


@pytest.mark.parametrize("name", ["junk.pt", "junk.onnx"])
def test_reading_metadata_of_a_file_that_is_no_export_is_one_line(tmp_path, name):
    if name.endswith(".onnx"):
        pytest.importorskip("onnx")
    (tmp_path / name).write_bytes(b"\x00not a model\xff" * 10)
    with pytest.raises(CaviarError, match=f"{name} is not a readable") as err:
        read_export_metadata(tmp_path / name)
    assert "\n" not in str(err.value)
    with pytest.raises(CaviarError, match="export file not found"):
        read_export_metadata(tmp_path / "absent.pt")


def test_a_file_its_runtime_cannot_load_is_refused_in_one_line(tmp_path):
    """onnxruntime has no float64 Softplus: the float64 ONNX file of a softplus network
    is refused with one line naming the runtime's complaint, and nothing is written."""
    import torch

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model = train_table(run_dir, model={"hidden": [4], "activation": "softplus"}).best_model
    target = tmp_path / "softplus.onnx"
    with pytest.raises(CaviarError) as err:
        model.export(target, dtype=torch.float64)
    message = str(err.value)
    assert "\n" not in message and "cannot be loaded by its runtime" in message
    assert "nothing was written" in message
    assert not target.exists() and not list(tmp_path.glob(".softplus.onnx-*"))
