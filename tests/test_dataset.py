import json

import numpy as np
import pytest

from midi_genres.core.notes import Note
from midi_genres.sources.midi_folder import Piece, Skipped, read_manifest, write_midi_folder
from midi_genres.tokens.base import BOS, EOS
from midi_genres.tokens.dataset import tokenize_genre, validation_ids
from midi_genres.tokens.event import EventTokenizer


def test_validation_split_is_deterministic_and_sized():
    ids = [f"piece{i}" for i in range(100)]
    held = validation_ids(ids, 0.1)
    assert len(held) == 10 and held == validation_ids(list(reversed(ids)), 0.1)
    assert len(validation_ids(ids[:3], 0.1)) == 1
    with pytest.raises(ValueError, match="at least 2 pieces"):
        validation_ids(ids[:1], 0.1)


def make_folder(tmp_path, n=10):
    pieces = [Piece(f"p{i}", "test", [Note(60 + i, 0, 4), Note(64, 4, 8)]) for i in range(n)]
    write_midi_folder(pieces + [Skipped("broken", "test", "parse error")], tmp_path / "midi",
                      tmp_path / "midi.manifest.tsv")
    return pieces


def test_tokenize_genre_writes_uint16_streams_split_by_piece(tmp_path):
    pieces = make_folder(tmp_path)
    paths = [tmp_path / f for f in ("t.npy", "v.npy", "s.json")]
    stats = tokenize_genre(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv", val_fraction=0.2,
                           train_path=paths[0], val_path=paths[1], stats_path=paths[2])
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
                           train_path=tmp_path / "t.npy", val_path=tmp_path / "v.npy", stats_path=tmp_path / "s.json")
    assert stats.skipped == 1 and stats.pieces_train + stats.pieces_val == 9
    assert victim in caplog.text


def test_manifest_records_kept_and_skipped_pieces(tmp_path):
    make_folder(tmp_path, n=3)
    rows = read_manifest(tmp_path / "midi.manifest.tsv")
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "skipped"]
    assert rows[-1]["reason"] == "parse error" and rows[0]["notes"] == "2" and rows[0]["steps"] == "8"


def test_a_folder_with_no_usable_piece_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="no usable piece"):
        write_midi_folder([Skipped("a", "x", "bad"), Piece("b", "x", [])], tmp_path / "midi", tmp_path / "m.tsv")
    assert list(tmp_path.iterdir()) == []
