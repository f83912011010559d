"""Hypothesis strategies shared by the tests."""

from hypothesis import strategies as st

from midi_genres.core.notes import Note, normalize


def note_lists(max_notes=60, max_time=400):
    """Arbitrary note lists (overlapping, duplicated, unsorted); ``normalize`` makes them canonical."""
    raw = st.lists(st.tuples(st.integers(0, 127), st.integers(0, max_time), st.integers(1, 80)), max_size=max_notes)
    return raw.map(lambda items: [Note(p, s, s + d) for p, s, d in items])


def canonical_note_lists(max_notes=60, max_time=400):
    """Canonical note lists, the domain on which the tokenizer must round-trip exactly."""
    return note_lists(max_notes, max_time).map(normalize)
