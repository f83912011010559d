import numpy as np
import pytest

from midi_genres.analysis import memorisation as MEM
from midi_genres.core.notes import Note, normalize
from midi_genres.core.tables import read_table
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()
C = MEM.note_codes


def melody(seed, n=60):
    """A random monophonic line of eighths and quarters."""
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.choice([2, 4], n)) - 2
    return [Note(int(p), int(s), int(s) + 2) for p, s in zip(rng.integers(48, 84, n), starts)]


def shifted(notes, steps=0, semitones=0):
    return [Note(n.pitch + semitones, n.start + steps, n.end + steps) for n in notes]


TRAIN = [melody(i) for i in range(20)]


class index:  # noqa: N801 (reads as a function in the tests)
    """A TrainingIndex of ``train`` built for these query pieces, asked about a query by the piece itself."""

    def __init__(self, *queries, train=TRAIN):
        self.pieces = list(queries)
        self.index = MEM.TrainingIndex(map(C, train), queries=[C(q) for q in queries])

    def copied(self, piece, n):
        return self.index.copied(self.pieces.index(piece), n)

    def longest_copy(self, piece):
        return self.index.longest_copy(self.pieces.index(piece))


def reference_copied(notes, n, train=TRAIN):
    """(n-grams, copied) counted the slow, obvious way: Python sets of (pitches, gaps) tuples."""
    def grams(piece):
        ordered = sorted(piece, key=lambda x: (x.start, x.pitch))
        keys = [(x.pitch, min(x.start - (ordered[i - 1].start if i else x.start), MEM.MAX_GAP))
                for i, x in enumerate(ordered)]
        return [(tuple(p for p, _ in keys[i:i + n]), tuple(g for _, g in keys[i + 1:i + n]))
                for i in range(len(keys) - n + 1)]
    known = {g for piece in train for g in grams(piece)}
    mine = grams(notes)
    return len(mine), sum(g in known for g in mine)


def test_a_verbatim_excerpt_is_fully_copied_wherever_it_starts_in_time():
    excerpt = shifted(TRAIN[4][10:40], steps=-TRAIN[4][10].start + 3)
    INDEX = index(excerpt)
    assert INDEX.copied(excerpt, 8) == (23, 23)
    assert INDEX.copied(excerpt, 16) == (15, 15)
    assert INDEX.longest_copy(excerpt) == 30


def test_a_transposed_or_new_melody_is_not_copied():
    INDEX = index(shifted(TRAIN[4][10:40], semitones=1), melody(999))
    assert INDEX.copied(shifted(TRAIN[4][10:40], semitones=1), 8) == (23, 0)
    count, copied = INDEX.copied(melody(999), 8)
    assert count == 53 and copied == 0
    assert INDEX.longest_copy(melody(999)) < 8


def test_longest_copy_of_two_spliced_excerpts_and_no_ngram_across_pieces():
    spliced = TRAIN[2][:12] + shifted(TRAIN[9][20:45], steps=TRAIN[2][12].start - TRAIN[9][20].start + 5)
    across = TRAIN[0][-4:] + shifted(TRAIN[1][:4], steps=TRAIN[0][-1].end)  # end of one piece + start of the next
    INDEX = index(spliced, across)
    assert INDEX.longest_copy(spliced) == 25
    assert INDEX.copied(across, 8) == (1, 0)
    assert INDEX.longest_copy(across) == 4


def test_onset_gaps_matter_but_durations_do_not():
    piece = TRAIN[3][:20]
    legato = [Note(n.pitch, n.start, n.start + 1) for n in piece]
    stretched = [Note(n.pitch, 2 * n.start, 2 * n.start + 2) for n in piece]
    INDEX = index(legato, stretched)
    assert INDEX.copied(legato, 16) == (5, 5)
    assert INDEX.copied(stretched, 8)[1] == 0


def test_polyphonic_pieces_are_read_in_onset_then_pitch_order():
    chords = normalize([Note(p + k, 4 * i, 4 * i + 4) for i, p in enumerate([60, 65, 67, 60, 62, 67])
                        for k in (0, 4, 7)])
    chord_index = index(shifted(chords, steps=32), chords[3:], train=[chords])
    assert chord_index.copied(shifted(chords, steps=32), 16) == (3, 3)
    assert chord_index.longest_copy(chords[3:]) == len(chords) - 3


def test_short_pieces_have_no_ngrams_and_empty_training_set_matches_nothing():
    assert index(TRAIN[0][:5]).copied(TRAIN[0][:5], 8) == (0, 0)
    empty = index(TRAIN[0], train=[])
    assert empty.copied(TRAIN[0], 8) == (53, 0) and empty.longest_copy(TRAIN[0]) == 0
    assert np.isnan(MEM.copied_share([{"ngrams8": 0, "copied8": 0}], 8))
    assert MEM.copied_share([{"ngrams8": 4, "copied8": 1}, {"ngrams8": 6, "copied8": 4}], 8) == 0.5


def test_memorisation_table_has_samples_and_heldout_rows(tmp_path):
    np.save(tmp_path / "train.npy", np.concatenate([TOK.encode(p) for p in TRAIN]))
    np.save(tmp_path / "val.npy", TOK.encode(melody(500)))
    np.save(tmp_path / "samples.npy", np.concatenate([TOK.encode(TRAIN[1]), TOK.encode(melody(501))]))
    MEM.memorisation(genre="pop", train_path=tmp_path / "train.npy", val_path=tmp_path / "val.npy",
                     samples_path=tmp_path / "samples.npy", table_path=tmp_path / "mem.tsv")
    rows = read_table(tmp_path / "mem.tsv")
    assert [(r["set"], r["piece"]) for r in rows] == [("sample", "0"), ("sample", "1"), ("heldout", "0")]
    assert rows[0]["copied16"] == rows[0]["ngrams16"] == "45" and rows[0]["longest_copy"] == "60"
    assert rows[1]["copied16"] == "0" and MEM.copied_share(rows[:2], 16) == pytest.approx(0.5)


QUERIES = [shifted(TRAIN[4][10:40], steps=3),
           TRAIN[2][:12] + shifted(TRAIN[9][20:45], steps=TRAIN[2][12].start - TRAIN[9][20].start + 5),
           melody(999), TRAIN[7], TRAIN[0][:5], TRAIN[5][3:9],
           TRAIN[11][:7] + shifted(melody(998, 20), steps=TRAIN[11][6].start + 50)]


@pytest.mark.parametrize("chunk", [MEM.CHUNK, 5, 64])
def test_the_index_answers_as_plain_sets_of_ngrams_whatever_its_chunk_size(monkeypatch, chunk):
    monkeypatch.setattr(MEM, "CHUNK", chunk)
    mixed = index(*QUERIES)
    for piece in QUERIES:
        for n in (2, 5, 7, 8, 12, 16, 30, 33, 40, 60):
            assert mixed.copied(piece, n) == reference_copied(piece, n), (n, chunk)
    longest = [mixed.longest_copy(p) for p in QUERIES]
    assert longest == [max((n for n in range(1, len(p) + 1) if reference_copied(p, n)[1]), default=0)
                       for p in QUERIES]
    assert longest[:2] + longest[3:] == [30, 25, 60, 5, 6, 7] and longest[2] < 8


def test_long_ngrams_are_looked_up_only_in_training_runs_around_query_matches():
    long, short = TRAIN[4][5:45], TRAIN[6][:20] + shifted(melody(997, 30), steps=TRAIN[6][19].start + 3)
    narrow = index(long, short)
    assert len(narrow.index.candidates) == 40 + 1 + 20 + 1  # the copied notes and a separator after each run
    assert (narrow.longest_copy(long), narrow.longest_copy(short)) == (40, 20)


def test_a_run_of_copied_8grams_from_two_places_is_not_one_copy():
    line = melody(50, 22)
    overlapping = index(line, train=[line[:12], line[5:]])  # no training piece holds the whole line
    assert overlapping.copied(line, 8) == (15, 15)
    assert overlapping.longest_copy(line) == 17




@pytest.mark.parametrize("seed", range(4))
def test_match_lengths_are_the_longest_verbatim_spans_on_repetitive_material(seed):
    rng = np.random.default_rng(seed)
    codes = lambda n: (rng.integers(60, 63, n) + MEM.PITCHES * rng.integers(1, 3, n)).astype(np.uint32)  # noqa: E731
    pieces = [codes(int(rng.integers(1, 40))) for _ in range(6)]  # a 3-pitch, 2-gap alphabet: many repeats
    queries = [codes(int(rng.integers(1, 30))) for _ in range(5)] + [pieces[2][3:], pieces[0][:1]]
    training = np.concatenate([part for p in pieces for part in (p, [MEM.SEPARATOR])]).astype(np.uint32)

    def same(a, b):  # pitch of the first note, then whole codes
        return len(a) == len(b) and a[0] % MEM.PITCHES == b[0] % MEM.PITCHES and list(a[1:]) == list(b[1:])

    for query, lengths in zip(queries, MEM.match_lengths(training, queries)):
        expected = [max((m for m in range(1, len(query) - p + 1) for piece in pieces
                         for t in range(len(piece) - m + 1) if same(query[p:p + m], piece[t:t + m])), default=0)
                    for p in range(len(query))]
        assert list(lengths) == expected
