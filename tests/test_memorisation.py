import numpy as np
import pytest

from midi_genres.analysis import memorisation as MEM
from midi_genres.core.notes import Note, normalize
from midi_genres.core.tables import read_table
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()


def melody(seed, n=60):
    """A random monophonic line of eighths and quarters."""
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.choice([2, 4], n)) - 2
    return [Note(int(p), int(s), int(s) + 2) for p, s in zip(rng.integers(48, 84, n), starts)]


def shifted(notes, steps=0, semitones=0):
    return [Note(n.pitch + semitones, n.start + steps, n.end + steps) for n in notes]


TRAIN = [melody(i) for i in range(20)]
INDEX = MEM.TrainingIndex(TRAIN)


def test_a_verbatim_excerpt_is_fully_copied_wherever_it_starts_in_time():
    excerpt = shifted(TRAIN[4][10:40], steps=-TRAIN[4][10].start + 3)
    assert INDEX.copied(excerpt, 8) == (23, 23)
    assert INDEX.copied(excerpt, 16) == (15, 15)
    assert INDEX.longest_copy(excerpt) == 30


def test_a_transposed_or_new_melody_is_not_copied():
    assert INDEX.copied(shifted(TRAIN[4][10:40], semitones=1), 8) == (23, 0)
    count, copied = INDEX.copied(melody(999), 8)
    assert count == 53 and copied == 0
    assert INDEX.longest_copy(melody(999)) < 8


def test_longest_copy_of_two_spliced_excerpts_and_no_ngram_across_pieces():
    spliced = TRAIN[2][:12] + shifted(TRAIN[9][20:45], steps=TRAIN[2][12].start - TRAIN[9][20].start + 5)
    assert INDEX.longest_copy(spliced) == 25
    across = TRAIN[0][-4:] + shifted(TRAIN[1][:4], steps=TRAIN[0][-1].end)  # end of one piece + start of the next
    assert INDEX.copied(across, 8) == (1, 0)
    assert INDEX.longest_copy(across) == 4


def test_onset_gaps_matter_but_durations_do_not():
    piece = TRAIN[3][:20]
    legato = [Note(n.pitch, n.start, n.start + 1) for n in piece]
    assert INDEX.copied(legato, 16) == (5, 5)
    stretched = [Note(n.pitch, 2 * n.start, 2 * n.start + 2) for n in piece]
    assert INDEX.copied(stretched, 8)[1] == 0


def test_polyphonic_pieces_are_read_in_onset_then_pitch_order():
    chords = normalize([Note(p + k, 4 * i, 4 * i + 4) for i, p in enumerate([60, 65, 67, 60, 62, 67])
                        for k in (0, 4, 7)])
    index = MEM.TrainingIndex([chords])
    assert index.copied(shifted(chords, steps=32), 16) == (3, 3)
    assert index.longest_copy(chords[3:]) == len(chords) - 3


def test_short_pieces_have_no_ngrams_and_empty_training_set_matches_nothing():
    assert INDEX.copied(TRAIN[0][:5], 8) == (0, 0)
    empty = MEM.TrainingIndex([])
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


def test_longest_run_of_copied_ngrams():
    assert MEM.longest_run(np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool)) == 3
    assert MEM.longest_run(np.zeros(4, dtype=bool)) == 0 and MEM.longest_run(np.ones(2, dtype=bool)) == 2


def test_an_index_narrowed_to_its_queries_answers_them_exactly_as_the_full_one():
    excerpt = shifted(TRAIN[4][10:40], steps=3)
    spliced = TRAIN[2][:12] + shifted(TRAIN[9][20:45], steps=TRAIN[2][12].start - TRAIN[9][20].start + 5)
    queries = [excerpt, spliced, melody(999), TRAIN[7], TRAIN[0][:5]]
    narrow = MEM.TrainingIndex(TRAIN, queries=queries)
    assert 0 < len(narrow.hashes(16)) < len(INDEX.hashes(16))
    for piece in queries:
        assert [narrow.copied(piece, n) for n in MEM.NGRAMS] == [INDEX.copied(piece, n) for n in MEM.NGRAMS]
        assert narrow.longest_copy(piece) == INDEX.longest_copy(piece)
