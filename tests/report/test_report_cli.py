"""caviar report: outputs, one-line errors with exit 2 and nothing written; the report
written at the end of caviar tune never loses the tune results."""

import base64
import gzip
import re

import pytest
from plotly.offline import get_plotlyjs

from caviar.cli.main import main


def test_report_on_tune_train_and_diagnose(tune_run, train_run, diagnose_dir, tmp_path, capsys):
    # caviar tune already wrote its report
    text = (tune_run / "report.html").read_text()
    assert "Coarse-to-fine rounds" in text and "Hyperparameter importance" in text
    assert "<script src" not in text and "Plotly.newPlot" in text  # plotly.js inlined
    # ... gzip-compressed and base64-encoded: it unpacks to plotly.js itself
    packed = re.search(r'<script type="application/base64" id="plotlyjs-gzip">([^<]+)<', text)
    assert gzip.decompress(base64.b64decode(packed.group(1))).decode() == get_plotlyjs()
    assert len(text) < 0.5 * len(get_plotlyjs())  # the report is smaller than plotly.js
    for run, extra, sections in (
        (tune_run, [], ["fig-curves", "fig-params", "fig-parallel", "fig-importance"]),
        (train_run, ["--diagnose", str(diagnose_dir)], ["fig-curves", "fig-gradnorms-0"]),
        (diagnose_dir, [], ["fig-gradnorms-0", "fig-lrrange-0"]),
    ):
        out = tmp_path / f"{run.parent.name}.html"
        assert main(["report", str(run), "-o", str(out), *extra]) == 0
        html = out.read_text()
        for div in sections:
            assert f'id="{div}"' in html
    assert "report written to" in capsys.readouterr().out


def test_default_output_is_in_the_run_dir(train_run):
    (train_run / "report.html").unlink(missing_ok=True)
    assert main(["report", str(train_run)]) == 0
    assert (train_run / "report.html").stat().st_size > 1_000_000  # plotly.js is inside


def _fails(argv, capsys, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err


def test_cli_errors_exit_2_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "out" / "r.html"
    _fails(["report", str(tmp_path / "nope"), "-o", str(out)], capsys, "no such directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    _fails(["report", str(empty), "-o", str(out)], capsys, "not a caviar run directory")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "study.db").write_bytes(b"garbage, not sqlite" * 20)
    _fails(["report", str(bad)], capsys, "cannot open study")
    assert sorted(p.name for p in bad.iterdir()) == ["study.db"]
    assert not out.exists() and not (empty / "report.html").exists()
    _fails(["report", str(empty), "--diagnose", str(tmp_path / "nope")], capsys, "not a caviar")


def test_failing_report_does_not_lose_tune_results(tune_run, monkeypatch, tmp_path, capsys):
    """write_outputs: the report is last and a failure in it is a warning."""
    import shutil

    import caviar.report
    from caviar.report import report_after_tune

    run = tmp_path / "copy"
    shutil.copytree(tune_run, run)
    (run / "report.html").unlink()

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(caviar.report, "make_report", broken)
    assert report_after_tune(run) is None
    assert "warning: report.html not written: boom" in capsys.readouterr().err
    assert not (run / "report.html").exists()
    assert (run / "summary.json").exists() and (run / "study.db").exists()


@pytest.mark.parametrize("flag", ["--study"])
def test_study_flag_names_the_study(tune_run, tmp_path, flag, capsys):
    out = tmp_path / "r.html"
    _fails(["report", str(tune_run), flag, "nope", "-o", str(out)], capsys, "no study named")
    assert not out.exists()
    assert main(["report", str(tune_run), flag, "search", "-o", str(out)]) == 0


def test_train_and_tune_write_the_report_and_say_where(tmp_path, capsys, report_configs):
    BASE, SEARCH, TRAIN = (report_configs[k] for k in ("BASE", "SEARCH", "TRAIN"))

    cfg = tmp_path / "grid.toml"
    cfg.write_text(TRAIN)
    out = tmp_path / "train"
    assert main(["train", str(cfg), "-o", str(out)]) == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    assert "fig-curves" in (out / "report.html").read_text()
    search = tmp_path / "search.toml"
    search.write_text(BASE + SEARCH.replace("trials = 8", "trials = 4"))
    assert main(["tune", str(search), "-o", str(tmp_path / "tune"), "-q"]) == 0
    printed = capsys.readouterr().out
    assert f"report: {tmp_path / 'tune' / 'report.html'}" in printed
    assert "early-stopped" in printed  # counted apart from complete
    assert main(["train", str(cfg), "-o", str(tmp_path / "t2"), "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["report"] == str(tmp_path / "t2" / "report.html")
