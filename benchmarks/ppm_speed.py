"""Speed and memory of the IDyOM-style floor (midi_genres.analysis.ppm) on realistic streams: synthetic
rock/pop/metal/atonal pieces, event tokens, training streams up to the largest genre's 1.5M tokens, 100K held-out
tokens, for several order caps (``metrics.ppm_max_order``), with the n-gram floor's bits beside them.

    PYTHONPATH=. python benchmarks/ppm_speed.py [--train 100000 500000 1500000] [--val 100000] [--orders 24]

Prints wall-clock and CPU seconds per training size (min and max of ``--repeats``; CPU time is what to compare on a
shared machine), the peak traced memory of the largest, and bits per token of the floor and of its two models
alone. Not part of the tests.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc

import numpy as np

from benchmarks.ngram_speed import synthetic_stream
from midi_genres.analysis.ngram import NGramModel
from midi_genres.analysis.ppm import IDyOMModel
from midi_genres.core.defaults import defaults
from midi_genres.tokens.event import EventTokenizer

BIAS = defaults("metrics")["ppm_bias"]


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def bits_per_token(model: IDyOMModel, val: np.ndarray) -> tuple[float, float]:
    """Bits per token of the LTM alone and of the STM alone."""
    ltm = stm = 0.0
    for first, lt, st in model.components(val):
        rows = np.arange(lt.shape[0])
        target = val[first + 1 + rows]
        ltm -= np.log2(lt[rows, target]).sum()
        stm -= np.log2(st[rows, target]).sum()
    return ltm / (val.size - 1), stm / (val.size - 1)


def main() -> None:
    """Run the benchmark and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, nargs="+", default=[100_000, 500_000, 1_500_000])
    ap.add_argument("--val", type=int, default=100_000)
    ap.add_argument("--orders", type=int, nargs="+", default=[24], help="order caps (0 = unbounded)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--parts", action="store_true", help="also the LTM's and the STM's bits alone")
    args = ap.parse_args()
    vocab = len(EventTokenizer().names)
    val = synthetic_stream(args.val, 1000)
    print(f"{cpu_name()}, {platform.python_version()}, numpy {np.__version__}; val {val.size} tokens, vocab {vocab}")
    for size in args.train:
        train = synthetic_stream(size, 0)
        kn = NGramModel.fit(train, vocab, order=8).token_nll(val).mean() / np.log(2)
        for order in args.orders:
            times, cpu = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                model = IDyOMModel(train, vocab, max_order=order or None, bias=BIAS)
                nll = model.token_nll(val)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            line = (f"train {size:>9,} tokens, max order {order or 'unbounded'}: {min(times):.2f}-{max(times):.2f} s "
                    f"({min(cpu):.2f}-{max(cpu):.2f} s CPU), {nll.mean() / np.log(2):.4f} bits/token (KN-8: {kn:.4f})")
            if args.parts:
                line += " LTM alone {:.4f}, STM alone {:.4f}".format(*bits_per_token(model, val))
            print(line, flush=True)
    tracemalloc.start()
    IDyOMModel(train, vocab, max_order=args.orders[0] or None, bias=BIAS).token_nll(val)
    _, peak = tracemalloc.get_traced_memory()
    print(f"train {train.size:,}, max order {args.orders[0] or 'unbounded'}: traced memory peak {peak / 2**20:.0f} "
          f"MiB; process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
