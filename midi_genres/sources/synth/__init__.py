"""Seeded synthetic genre generators: atonal (12-tone), metal, rock, pop and rap.

Each generator is ``generate_piece(rng, bars) -> list[Note]`` (a canonical note list in 16th-note steps,
4/4, 16 steps a bar); ``generate_pieces`` makes a reproducible corpus of ``Piece`` objects from one.
Shared music theory lives in ``theory``; each genre module also has ``compose`` which returns the notes
together with the choices made (key, progression, row forms, ...), and ``RULES``: the checkable rules every piece
it makes obeys, beside the constants that make them (``Rule`` and the helpers of the checks: ``rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.midi_folder import Piece
from midi_genres.sources.synth import atonal, metal, pop, rap, rock
from midi_genres.sources.synth.rules import Rule

GENERATORS: dict[str, Callable[[np.random.Generator, int], list[Note]]] = {
    "atonal": atonal.generate_piece,
    "metal": metal.generate_piece,
    "rock": rock.generate_piece,
    "pop": pop.generate_piece,
    "rap": rap.generate_piece,
}

RULES: dict[str, list[Rule]] = {
    "atonal": atonal.RULES,
    "metal": metal.RULES,
    "rock": rock.RULES,
    "pop": pop.RULES,
    "rap": rap.RULES,
}

DRUM_GENERATORS = frozenset({"rap"})  # genres whose MIDI is written as a drum track

__all__ = ["DRUM_GENERATORS", "GENERATORS", "RULES", "generate_pieces"]


def generate_pieces(generator: str, n_pieces: int, seed: int, bars: Sequence[int] = (8, 16)) -> list[Piece]:
    """``n_pieces`` pieces from ``generator``, reproducible from ``seed``.

    Piece *i* draws everything - its bar count (uniform in the inclusive range ``bars``) and its notes -
    from its own ``numpy.random.default_rng([seed, i])``, so it does not depend on ``n_pieces``.
    Ids are ``<generator>_<i:04d>``; the source is ``synthetic:<generator> seed=<seed>``.
    """
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; valid generators: {', '.join(GENERATORS)}")
    if int(n_pieces) != n_pieces or n_pieces < 0:
        raise ValueError(f"n_pieces must be a non-negative integer, got {n_pieces!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if len(bars) != 2 or not 1 <= bars[0] <= bars[1] or any(int(b) != b for b in bars):
        raise ValueError(f"bars must be a range (min, max) of positive integers with min <= max, got {bars!r}")
    generate = GENERATORS[generator]
    pieces = []
    for i in range(int(n_pieces)):
        rng = np.random.default_rng([int(seed), i])
        n_bars = int(rng.integers(int(bars[0]), int(bars[1]) + 1))
        pieces.append(Piece(f"{generator}_{i:04d}", f"synthetic:{generator} seed={seed}", generate(rng, n_bars)))
    return pieces
