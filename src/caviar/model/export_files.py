"""Writing an exported model to ONNX or TorchScript, and encoding rows for it.

:func:`export_model` writes :func:`~caviar.model.export_torch.to_torch`'s module:

* ``format="onnx"`` (``.onnx``): ``torch.onnx.export(..., dynamo=True)``, torch's
  ``torch.export``-based exporter (the default since torch 2.9; the TorchScript-based
  one is deprecated), which needs the ``onnx`` and ``onnxscript`` packages; the file is
  then run by ``onnxruntime`` on probe rows and must match the torch module;
* ``format="torchscript"`` (``.pt``): ``torch.jit.script`` (``torch.jit.trace`` for a
  user module that cannot be scripted), saved with ``torch.jit.save``; the saved file is
  loaded back and must match on probe rows (1 and 3 rows, so a batch size baked into a
  trace is caught).

Both take one input, ``features`` ``(batch, C)`` (the batch dimension is dynamic), and
record what it holds: ONNX in the model's ``metadata_props`` (``caviar``: the JSON of
:func:`export_description`; ``input_columns``: the column names), TorchScript in the
extra file ``caviar.json`` (:func:`read_export_metadata` reads either). The file is
written to a temporary sibling and renamed into place; an existing file is only
replaced with ``overwrite=True``.

Categorical values are strings or labels, and ONNX takes numbers: the graph takes each
categorical column as its category *code*;
:func:`~caviar.model.export_inputs.encode_rows` maps raw rows to that numeric input.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from caviar.atomic import umask
from caviar.errors import CaviarError
from caviar.export_format import check_export_target, export_format
from caviar.model.export_inputs import probe_rows
from caviar.model.export_torch import to_torch
from caviar.nn.factory import short_error
from caviar.serialize import dumps
from caviar.version import __version__

INPUT_NAME = "features"
METADATA_KEY = "caviar"
TORCHSCRIPT_EXTRA = "caviar.json"
INSTALL_HINT = "pip install 'caviar[export]'"
#: how far the written file may be from the torch module on the probe rows
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-10}


def export_description(model: Any, format: str, dtype: torch.dtype) -> dict[str, Any]:
    """What an exported file records about its input and output.

    Parameters
    ----------
    model
        The :class:`~caviar.model.TrainedModel` being exported.
    format
        ``"onnx"`` or ``"torchscript"``.
    dtype
        The exported module's floating dtype.

    Returns
    -------
    dict
        JSON-ready: ``input_name`` (``"features"``), ``input_columns`` (in order),
        ``columns`` (each column's fitted preprocessing: kind, mean/std or categories),
        ``output_name``, ``classes`` (the output columns of a classifier), ``task``,
        ``n_members``, ``combine``, ``network`` and the versions.
    """
    classification = model.task == "classification"
    return {
        "format": "caviar.export",
        "version": 1,
        "caviar_version": __version__,
        "export_format": format,
        "task": model.task,
        "input_name": INPUT_NAME,
        "input_dtype": str(dtype).removeprefix("torch."),
        "input_columns": model.preprocessor.input_columns,
        "columns": model.preprocessor.to_json()["features"],
        "categorical_input": "category code: position in the column's categories; "
        "a code with no indicator (e.g. -1) is an unknown category",
        "output_name": "probabilities" if classification else "predictions",
        "classes": model.classes if classification else None,
        "n_members": model.n_members,
        "combine": model.combine,
        "network": model.network.get("kind", "mlp"),
    }


def export_model(
    model: Any,
    path: str | Path,
    format: str | None = None,
    *,
    overwrite: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write ``model`` as an ONNX or TorchScript file (see the module docstring).

    Parameters
    ----------
    model
        A :class:`~caviar.model.TrainedModel`.
    path
        The file to write: written to a temporary sibling, checked, renamed into place.
    format
        ``"onnx"`` or ``"torchscript"``; by default the one ``path``'s suffix names.
    overwrite
        Replace an existing file (refused otherwise, with a one-line error).
    dtype
        ``torch.float32`` (default) or ``torch.float64``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> export_model(model, "model.onnx")  # doctest: +SKIP
    PosixPath('model.onnx')
    """
    fmt = export_format(path, format)
    target = check_export_target(path, overwrite=overwrite)
    if dtype not in TOLERANCE:
        raise CaviarError(f"exports are float32 or float64, not {dtype}")
    writer = _write_onnx if fmt == "onnx" else _write_torchscript
    if fmt == "onnx":
        onnx_packages()  # the install hint before any work
    module = to_torch(model, dtype)
    meta = export_description(model, fmt, dtype)
    with _temporary_sibling(target) as tmp:
        writer(module, probe_rows(model.preprocessor, 2, dtype), tmp, meta)
        _check_file(module, fmt, tmp, probe_rows(model.preprocessor, 3, dtype, seed=1), dtype)
        _publish(tmp, target, overwrite)
    return target


def read_export_metadata(path: str | Path, format: str | None = None) -> dict[str, Any]:
    """The :func:`export_description` recorded in an exported file.

    Parameters
    ----------
    path
        An ``.onnx`` or TorchScript file written by :func:`export_model`.
    format
        ``"onnx"`` or ``"torchscript"``; by default from the suffix.

    Returns
    -------
    dict
        The description (:func:`export_description`); a one-line error for a file that
        cannot be read or holds none.
    """
    path = Path(path)
    if not path.is_file():
        raise CaviarError(f"export file not found: {path}")
    fmt = export_format(path, format)
    onnx = onnx_packages()[0] if fmt == "onnx" else None
    try:
        if onnx is not None:
            props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
            text = props.get(METADATA_KEY)
        else:
            extra = {TORCHSCRIPT_EXTRA: ""}
            with _quiet():
                torch.jit.load(str(path), _extra_files=extra)
            text = extra[TORCHSCRIPT_EXTRA] or None
    except Exception as e:  # not an ONNX / TorchScript file: one line
        raise CaviarError(f"{path} is not a readable {fmt} file: {short_error(e)}") from None
    if text is None:
        raise CaviarError(f"{path} holds no caviar export metadata")
    return json.loads(text)


def onnx_packages() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``, checking ``onnxscript`` too, or one line with the hint."""
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise CaviarError(
            f"ONNX export needs the packages onnx, onnxscript and onnxruntime "
            f"({', '.join(missing)} missing): {INSTALL_HINT}"
        )
    import onnx
    import onnxruntime

    return onnx, onnxruntime


# -- the writers ------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' progress prints, warnings and log lines."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _write_onnx(module: torch.nn.Module, example: torch.Tensor, tmp: Path, meta: dict) -> None:
    onnx = onnx_packages()[0]
    try:
        with _quiet():
            program = torch.onnx.export(
                module,
                (example,),
                input_names=[INPUT_NAME],
                output_names=[meta["output_name"]],
                dynamic_shapes={INPUT_NAME: {0: torch.export.Dim("batch")}},
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            assert program is not None  # dynamo=True returns the ONNX program
            proto = program.model_proto
    except CaviarError:
        raise
    except Exception as e:  # torch.export refusing the network (e.g. a user module)
        raise CaviarError(f"cannot export the model to ONNX: {short_error(e)}") from None
    for key, value in (
        (METADATA_KEY, dumps(meta, None)),
        ("input_columns", dumps(meta["input_columns"], None)),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"caviar {__version__} export: {meta['task']}, input '{INPUT_NAME}'"
    onnx.save(proto, str(tmp))


def _write_torchscript(
    module: torch.nn.Module, example: torch.Tensor, tmp: Path, meta: dict
) -> None:
    with _quiet():
        try:
            compiled = torch.jit.script(module)
        except Exception:  # a user module TorchScript cannot compile: trace it
            try:
                compiled = torch.jit.trace(module, (example,), check_trace=False)
            except Exception as e:
                raise CaviarError(
                    f"cannot export the model to TorchScript: {short_error(e)}"
                ) from None
        torch.jit.save(compiled, str(tmp), _extra_files={TORCHSCRIPT_EXTRA: dumps(meta, None)})


def _check_file(
    module: torch.nn.Module, fmt: str, tmp: Path, rows: torch.Tensor, dtype: torch.dtype
) -> None:
    """Run the written file on ``rows`` and on one row; refuse it if it fails or differs
    from ``module`` by more than :data:`TOLERANCE` (a file its runtime cannot even load,
    e.g. onnxruntime without a float64 kernel for one of its operators, is refused too)."""
    try:
        run = _file_runner(fmt, tmp)
    except Exception as e:
        raise CaviarError(
            f"the {fmt} file cannot be loaded by its runtime ({short_error(e)}); "
            "nothing was written"
        ) from None
    for x in (rows, rows[:1]):
        with torch.no_grad():
            expected = module(x).numpy()
        try:
            got = run(x)
        except Exception as e:  # e.g. a trace that baked in its example's batch size
            problem = f"it fails: {short_error(e)}"
        else:
            if got.shape == expected.shape and np.allclose(
                got, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype]
            ):
                continue
            problem = f"output shape {got.shape}, expected {expected.shape}"
            if got.shape == expected.shape:
                problem = f"max difference {np.abs(got - expected).max():.3g}"
        raise CaviarError(
            f"the {fmt} file does not reproduce the model on {len(x)} probe rows "
            f"({problem}); nothing was written"
        )


def _file_runner(fmt: str, tmp: Path) -> Callable[[torch.Tensor], np.ndarray]:
    """``x -> outputs`` of the written file: onnxruntime, or the loaded TorchScript."""
    if fmt == "onnx":
        session = onnx_packages()[1].InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        return lambda x: session.run(None, {INPUT_NAME: x.numpy()})[0]
    with _quiet():
        loaded = torch.jit.load(str(tmp))

    def run(x: torch.Tensor) -> np.ndarray:
        with _quiet(), torch.no_grad():
            return loaded(x).numpy()

    return run


@contextlib.contextmanager
def _temporary_sibling(target: Path) -> Iterator[Path]:
    """A temporary file beside ``target`` (usual permissions), removed unless renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~umask())
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``target`` atomically; without ``overwrite`` a file that appeared
    at ``target`` meanwhile is kept (a hard link fails where a name exists)."""
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise CaviarError(
            f"{target} was created by someone else while exporting; kept it"
        ) from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise CaviarError(f"{target} was created by someone else while exporting") from None
        os.replace(tmp, target)
