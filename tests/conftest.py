"""Fixtures shared by test files: one tiny run of the real workflow for the whole session."""

import pytest
from workflow_helpers import snakemake, tiny_config


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """A working directory where the whole workflow has run on ``tiny_config()``; tests must leave it as they found
    it (it is shared by tests/test_workflow.py, tests/test_gallery.py and tests/test_report.py)."""
    workdir = tmp_path_factory.mktemp("run")
    snakemake(workdir, "--cores", "2", config=tiny_config())
    return workdir


@pytest.fixture(scope="session")
def corpus_pieces():
    """A few real pieces of two music21 corpora (Bach chorales, Ryan's Mammoth)."""
    from midi_genres.sources.midi_folder import Piece
    from midi_genres.sources.music21_corpus import extract_collection

    pieces = [p for p in extract_collection("bach", max_pieces=3) if isinstance(p, Piece)]
    pieces += [p for p in extract_collection("ryansMammoth", max_pieces=2) if isinstance(p, Piece)]
    assert len(pieces) == 5
    return pieces
