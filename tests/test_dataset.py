import json

import numpy as np
import pytest

from midi_genres.core.notes import Note
from midi_genres.core.tables import read_table
from midi_genres.sources.midi_folder import Piece, Skipped, read_manifest, write_midi_folder
from midi_genres.tokens.base import BOS, EOS
from midi_genres.tokens.dataset import cap_pieces, load_pieces, tokenize_folder, tokenize_genre
from midi_genres.tokens.event import EventTokenizer


def tune(k, transpose=0, length=16):
    """Tune number ``k``: a melody of ``length`` notes whose intervals and rhythm depend on ``k``."""
    rng = np.random.default_rng(k)
    pitches = np.cumsum([0, *rng.integers(-4, 5, length - 1)]) + 60 + transpose
    starts = np.cumsum([0, *rng.integers(1, 4, length - 1)])
    return [Note(int(p), int(s), int(s) + 1) for p, s in zip(pitches, starts)]


def make_folder(tmp_path, n=10):
    pieces = [Piece(f"p{i}", "test", tune(i)) for i in range(n)]
    write_midi_folder(pieces + [Skipped("broken", "test", "parse error")], tmp_path / "midi",
                      tmp_path / "midi.manifest.tsv")
    return pieces


def test_tokenize_genre_writes_uint16_streams_split_by_piece(tmp_path):
    pieces = make_folder(tmp_path)
    paths = [tmp_path / f for f in ("t.npy", "v.npy", "s.json", "p.tsv")]
    stats = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv", val_fraction=0.2,
                           train_path=paths[0], val_path=paths[1], stats_path=paths[2], pieces_path=paths[3])
    train, val = np.load(paths[0]), np.load(paths[1])
    assert train.dtype == np.uint16 and val.dtype == np.uint16
    assert (stats.pieces_train, stats.pieces_val) == (8, 2)
    assert (train == BOS).sum() == 8 and (train == EOS).sum() == 8 and (val == BOS).sum() == 2
    assert json.loads(paths[2].read_text())["tokens_train"] == len(train)
    tok = EventTokenizer()
    decoded = {tuple(tok.decode(train[i:])) for i in np.flatnonzero(train == BOS)}
    assert decoded <= {tuple(p.notes) for p in pieces}


def test_an_unreadable_file_in_the_folder_is_skipped_not_fatal(tmp_path, caplog):
    make_folder(tmp_path)
    victim = read_manifest(tmp_path / "midi.manifest.tsv")[0]["file"]
    (tmp_path / "midi" / victim).write_bytes(b"garbage")
    stats = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv", val_fraction=0.2,
                           train_path=tmp_path / "t.npy", val_path=tmp_path / "v.npy", stats_path=tmp_path / "s.json",
                           pieces_path=tmp_path / "p.tsv")
    assert stats.skipped == 1 and stats.pieces_train + stats.pieces_val == 9
    assert victim in caplog.text


def test_manifest_records_kept_and_skipped_pieces(tmp_path):
    make_folder(tmp_path, n=3)
    rows = read_manifest(tmp_path / "midi.manifest.tsv")
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "skipped"]
    first = tune(0)
    assert rows[-1]["reason"] == "parse error" and rows[0]["notes"] == "16"
    assert rows[0]["steps"] == str(max(n.end for n in first))


def test_a_folder_with_no_usable_piece_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="no usable piece"):
        write_midi_folder([Skipped("a", "x", "bad"), Piece("b", "x", [])], tmp_path / "midi", tmp_path / "m.tsv")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_one_tune_is_refused_naming_it(tmp_path):
    pieces = [Piece(f"v{k}", "x", tune(1, transpose=k)) for k in range(4)]
    write_midi_folder(pieces, tmp_path / "my riffs", tmp_path / "m.tsv")
    with pytest.raises(ValueError, match="my riffs: need at least 2 tune families.*4 pieces are all variants"):
        tokenize_folder(tmp_path / "my riffs", tmp_path / "m.tsv", 0.25)


def test_variants_of_one_tune_are_held_out_together(tmp_path):
    pieces = [Piece(f"tune{k}_{v}", f"file{k}_{v}.abc", tune(k, transpose=2 * v)) for k in range(12) for v in range(3)]
    write_midi_folder(pieces, tmp_path / "midi", tmp_path / "m.tsv")
    train, val, stats, rows = tokenize_folder(tmp_path / "midi", tmp_path / "m.tsv", 0.25)
    assert stats.families == 12 and stats.pieces_val == 9 and stats.pieces_train == 27
    split = {r["piece_id"]: r["split"] for r in rows}
    for k in range(12):
        assert len({split[f"tune{k}_{v}"] for v in range(3)}) == 1, f"tune {k} split across train and validation"
    assert [r["piece_id"] for r in rows if r["split"] == "val"] == [p.piece_id for p in pieces
                                                                  if split[p.piece_id] == "val"]  # stream order
    assert (val == BOS).sum() == 9 and (train == BOS).sum() == 27


def test_the_token_cap_keeps_whole_pieces_and_marks_the_rest_unused(tmp_path):
    make_folder(tmp_path, n=20)
    paths = {k: tmp_path / f for k, f in (("train_path", "t.npy"), ("val_path", "v.npy"), ("stats_path", "s.json"),
                                         ("pieces_path", "p.tsv"))}
    full = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                          val_fraction=0.1, **paths)
    cap = full.tokens_train // 2
    capped = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                            val_fraction=0.1, train_tokens=cap, **paths)
    train = np.load(paths["train_path"])
    assert capped.tokens_train == len(train) <= cap and capped.tokens_train_uncapped == full.tokens_train
    assert capped.pieces_train + capped.pieces_unused == full.pieces_train and capped.pieces_unused > 0
    assert (train == BOS).sum() == (train == EOS).sum() == capped.pieces_train  # whole pieces only
    kept = load_pieces(paths["pieces_path"], "train")
    assert sum(r["tokens"] for r in kept) == len(train)
    assert capped.pieces_val == full.pieces_val  # the cap never touches the validation split
    again = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                           val_fraction=0.1, train_tokens=cap, **paths)
    assert again == capped and np.array_equal(np.load(paths["train_path"]), train)
    assert {r["split"] for r in read_table(paths["pieces_path"])} == {"train", "val", "unused"}
    assert cap_pieces([5, 5], ["a", "b"], None) == [0, 1]
