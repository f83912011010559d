"""Fixtures shared by test files: one tiny run of the real workflow for the whole session."""

import pytest
from test_workflow import snakemake, tiny_config


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """A working directory where the whole workflow has run on ``tiny_config()``; tests must leave it as they found
    it (it is shared by tests/test_workflow.py, tests/test_gallery.py and tests/test_report.py)."""
    workdir = tmp_path_factory.mktemp("run")
    snakemake(workdir, "--cores", "2", config=tiny_config())
    return workdir
