"""`snakemake --report report.zip` on the tiny run: the figures, with their captions, categories and labels."""

import hashlib
import zipfile

import pytest
from workflow_helpers import AUDIO, GENRES, snakemake


@pytest.mark.slow
def test_report_zip_holds_every_figure(run, tmp_path):
    report = tmp_path / "report.zip"
    snakemake(run, "--report", str(report))
    archive = zipfile.ZipFile(report)
    names = archive.namelist()
    contents = {hashlib.sha256(archive.read(n)).hexdigest() for n in names}  # stored as data/raw/<hash>/<name>
    expected = ["results/comparison.png", "results/summary.tsv", "results/training_curves.png"]
    expected += [f"results/{kind}/{genre}.png" for kind in ("pianorolls", "curves") for genre in GENRES]
    expected += [f"results/audio/{genre}.ogg" for genre in GENRES] if AUDIO else []
    assert [e for e in expected if hashlib.sha256((run / e).read_bytes()).hexdigest() not in contents] == []
    assert any(n.endswith("report.html") for n in names)
    page = next(archive.read(n) for n in names if n.endswith("report.html")).decode()
    for text in ("Training", "Samples", "Comparison", "Piano roll of the", "Bach chorales"):
        assert text in page, text
