"""Speed and memory of the n-gram floor (midi_genres.ngram) on a realistic stream: synthetic rock/pop/metal/atonal
pieces, event tokens, 1.5M training tokens and 150K validation tokens (the largest genre's sizes).

    PYTHONPATH=. python benchmarks/ngram_speed.py [--train 1500000] [--val 150000] [--orders 8 6 4 2]

Prints fit and score times (min and max of 3) and the peak traced memory of one order-8 fit + score.
Not part of the tests.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc

import numpy as np

from midi_genres.analysis.ngram import NGramModel
from midi_genres.sources.synth import generate_pieces
from midi_genres.tokens.event import EventTokenizer

GENRES = ("rock", "pop", "metal", "atonal")


def synthetic_stream(n_tokens: int, first_seed: int) -> np.ndarray:
    """At least ``n_tokens`` event tokens of concatenated synthetic pieces (50 per seed, genres in turn), cut."""
    tok, parts, total, seed = EventTokenizer(), [], 0, first_seed
    while total < n_tokens:
        for piece in generate_pieces(GENRES[seed % len(GENRES)], 50, seed=seed):
            parts.append(tok.encode(piece.notes))
            total += parts[-1].size
        seed += 1
    return np.concatenate(parts)[:n_tokens]


def main() -> None:
    """Run the benchmark and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1_500_000)
    ap.add_argument("--val", type=int, default=150_000)
    ap.add_argument("--orders", type=int, nargs="+", default=[8, 6, 4, 2])
    args = ap.parse_args()
    vocab = len(EventTokenizer().names)
    train, val = synthetic_stream(args.train, 0), synthetic_stream(args.val, 1000)
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}; "
          f"train {train.size} tokens, val {val.size} tokens, vocab {vocab}")
    for order in args.orders:
        fits, scores = [], []
        for _ in range(3):
            t = time.perf_counter()
            model = NGramModel.fit(train, vocab, order=order)
            fits.append(time.perf_counter() - t)
            t = time.perf_counter()
            nll = model.token_nll(val)
            scores.append(time.perf_counter() - t)
        print(f"order {order}: fit {min(fits):.2f}-{max(fits):.2f} s, score {min(scores):.3f}-{max(scores):.3f} s, "
              f"val {nll.mean() / np.log(2):.4f} bits/token")
    del model
    tracemalloc.start()
    model = NGramModel.fit(train, vocab, order=8)
    model.token_nll(val)
    kept, peak = tracemalloc.get_traced_memory()
    print(f"order 8 traced memory: peak {peak / 2**20:.0f} MiB (fit + score), model {kept / 2**20:.0f} MiB; "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
