"""What the workflow tests share: the repository, the real Snakemake, a tiny config, dry-run parsing."""

import subprocess
import sys
from pathlib import Path

import yaml

from midi_genres.present.audio import missing_tools

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
GENRES = ["bach", "atonal", "rap"]
AUDIO = not missing_tools()  # the tiny run renders audio wherever FluidSynth, a soundfont and oggenc are installed


def tiny_config():
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for section in ("corpus", "train", "sample", "metrics", "audio", "model", "crossprompt", "conditional"):
        cfg.setdefault(section, {})  # config.yaml sets only what differs from the schema's defaults
    cfg["genres"] = GENRES
    cfg["corpus"]["max_pieces"] = 5
    for name in ("atonal", "rap"):
        cfg["sources"][name]["pieces"] = 12
    cfg["train"].update(steps=30, batch_size=4, eval_interval=10, eval_windows=4, warmup_steps=5)
    cfg["sample"]["seconds"] = 6
    cfg["metrics"].update(samples=3, corpus_pieces=50)
    cfg["audio"].update(enabled=AUDIO, training_pieces=1)
    return cfg


def snakemake(workdir, *args, config=None, check=True):
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args], capture_output=True, text=True, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(workdir, *args, config=None):
    """{rule: set of genres} that a dry run (with extra command line ``args``) would execute."""
    out = snakemake(workdir, "-n", *args, config=config).stdout
    jobs = {}
    rule = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("rule ") and line.endswith(":"):
            rule = line[5:-1]
            jobs.setdefault(rule, set())
        elif line.startswith("wildcards: genre=") and rule:  # "genre=rap" or "genre=rap, rep=.seed1"
            jobs[rule].add(line.split("=", 1)[1].split(",")[0])
    return jobs
