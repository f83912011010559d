"""What the generators' rules share: the ``Rule`` record and the helpers their checks read notes with.

Each generator module declares ``RULES``, the checkable properties *every* piece it makes has, beside the constants
that make them, so changing a generator changes its rules in the same place. A rule's ``check(notes) -> (obeyed,
units)`` counts the units (rows, chords, bars, beats, notes...) of a note list that obey it, so a partly right
sample gets partial credit; the generator's own pieces obey every unit of every rule. Any note list is accepted
(it is made canonical first) and an empty or degenerate one simply has fewer (or zero) units.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from midi_genres.core.notes import Note, normalize
from midi_genres.sources.synth.theory import MODES, STEPS_PER_BAR, identify_triad, is_strong_beat, triad_pcs

# What a rule is about. ``above_bar``: where a bar sits in the piece, which a piece with its bars shuffled loses: an
# order of chords, a repeat at a distance, phrases, rows running across bar lines, an opening or an ending.
# ``within_bar``: what each bar (note, onset, beat) does, which holds of the bars in any order, given the piece's key,
# tonic or one pattern kept throughout.
WITHIN_BAR, ABOVE_BAR = "within_bar", "above_bar"
SCOPES = (WITHIN_BAR, ABOVE_BAR)
WHOLE_PIECE = None  # a rule's span: from the piece's first bar to its last


@dataclass(frozen=True)
class Rule:
    """One property every piece of ``genre``'s generator has, of ``scope`` (one of ``SCOPES``);
    ``check(notes) -> (obeyed units, units)``. ``bars``: how many bars of music one unit of the rule spans, which a
    model must hold in its context to see it (1 within a bar; ``WHOLE_PIECE`` for a relation to the piece's opening,
    such as a return to the first chord or the first phrase repeated)."""

    name: str
    genre: str
    scope: str
    statement: str
    check: Callable[[Sequence[Note]], tuple[int, int]]
    bars: int | None = 1

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"rule {self.genre}/{self.name}: scope must be one of {', '.join(SCOPES)}, "
                         f"got {self.scope!r}")


def clean(notes: Iterable[Sequence[int]]) -> list[Note]:
    """The canonical form of any iterable of (pitch, start, end) triples."""
    return normalize(Note(int(n[0]), int(n[1]), int(n[2])) for n in notes)


def onset_groups(notes: Sequence[Note]) -> list[tuple[int, list[Note]]]:
    """``(start, notes starting there)`` in time order (notes of a canonical list come sorted by pitch)."""
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        groups[n.start].append(n)
    return sorted(groups.items())


def n_bars(notes: Sequence[Note]) -> int:
    """Bars up to the one holding the last onset (0 for no notes)."""
    return max(n.start for n in notes) // STEPS_PER_BAR + 1 if notes else 0


def by_bar(notes: Iterable[Note]) -> dict[int, list[Note]]:
    """The notes grouped by the bar they start in."""
    bars: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        bars[n.start // STEPS_PER_BAR].append(n)
    return bars


def share(flags: Iterable[bool]) -> tuple[int, int]:
    """``(units obeying, units)`` of one flag per unit."""
    flags = list(flags)
    return sum(flags), len(flags)


def major_key(notes: Sequence[Note], prefer: int | None = None) -> int:
    """Tonic of the major key holding the most notes (``prefer`` wins a tie, then the lowest tonic)."""
    counts = Counter(n.pitch % 12 for n in notes)
    scores = [sum(counts[(t + off) % 12] for off in MODES["major"]) for t in range(12)]
    best = [t for t in range(12) if scores[t] == max(scores)]
    return prefer if prefer in best else best[0]


def major_minor_triad(pcs: Iterable[int]) -> tuple[int, int, int] | None:
    """(root, third, fifth) of a major or minor triad with exactly these pitch classes, else None."""
    found = identify_triad(pcs)
    if found is None or found[1] == "diminished":
        return None
    return triad_pcs(*found)


def close_triad(pitches: Sequence[int]) -> tuple[int, int, int] | None:
    """The triad of three distinct pitches within an octave (a close voicing), else None."""
    pitches = sorted(set(pitches))
    if len(pitches) != 3 or pitches[-1] - pitches[0] >= 12:
        return None
    return major_minor_triad(pitches)


def split_parts(notes: Sequence[Note], bass_register: tuple[int, int],
                melody_register: tuple[int, int]) -> tuple[list[Note], list[Note], list[Note]]:
    """(bass, chords, melody) by register: up to the bass register's top, from the melody register's bottom, and
    what lies between."""
    bass_top, melody_low = bass_register[1], melody_register[0]
    return ([n for n in notes if n.pitch <= bass_top], [n for n in notes if bass_top < n.pitch < melody_low],
            [n for n in notes if n.pitch >= melody_low])


def melody_ok(n: Note, key: int, chord: tuple[int, int, int] | None, register: tuple[int, int]) -> bool:
    """In the register and the major scale of ``key``; on beats 1 and 3 a tone of the bar's chord."""
    in_scale = (n.pitch - key) % 12 in MODES["major"]
    strong_ok = not is_strong_beat(n.start) or (chord is not None and n.pitch % 12 in chord)
    return register[0] <= n.pitch <= register[1] and in_scale and strong_ok
