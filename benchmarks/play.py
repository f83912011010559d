"""Speed of playing with a finished run (issue: a 30 s sample in under 1 s; scoring a 3-minute multi-track file
under every model in under 5 s), measured after the models are loaded, side by side for 1 and 2 torch threads.

    python benchmarks/play.py [--results results]

Prints a markdown table with the CPU. Not part of the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from make_midi_folder import write_song  # noqa: E402
from midi_folder import cpu_name  # noqa: E402

from midi_genres import api  # noqa: E402
from midi_genres.core.midi import read_midi  # noqa: E402


def median_seconds(action, repeats: int = 3) -> float:
    """Median wall seconds of ``repeats`` calls (after one warm-up call)."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(REPO / "results"))
    args = parser.parse_args()
    song = Path(tempfile.mkdtemp(prefix="play_bench.")) / "song.mid"
    write_song(song, seed=3)
    notes = read_midi(song)
    genres = list(api.run_checkpoints(args.results))
    print(f"CPU: {cpu_name()}; run: {args.results} ({len(genres)} models); file: {len(notes)} notes, "
          f"{max(n.end for n in notes) / 4 / 2:.0f} s at 120 bpm")
    print("| threads | load all models s | 30 s sample s (first genre) | score the file under every model s |")
    print("|---:|---:|---:|---:|")
    for threads in (1, 2):
        api._MODELS.clear()
        started = time.perf_counter()
        models = [api.load_model(g, args.results, threads=threads) for g in genres]
        loaded = time.perf_counter() - started
        first = models[0]
        sample = median_seconds(lambda m=first: m.generate(seconds=30, seed=1))
        scoring = median_seconds(lambda t=threads: api.score(song, args.results, threads=t))
        print(f"| {threads} | {loaded:.2f} | {sample:.2f} | {scoring:.2f} |")


if __name__ == "__main__":
    main()
