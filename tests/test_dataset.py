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


def one_fold(tmp_path, **settings):
    """tokenize_genre of the folder made by ``make_folder`` into one fold's files (t.npy, v.npy, s.json, p.tsv)."""
    settings.setdefault("val_fraction", 0.2)
    return tokenize_genre(genre="g", midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                          train_paths=[tmp_path / "t.npy"], val_paths=[tmp_path / "v.npy"],
                          stats_paths=[tmp_path / "s.json"], pieces_paths=[tmp_path / "p.tsv"], **settings)[0]


def test_tokenize_genre_writes_uint16_streams_split_by_piece(tmp_path):
    pieces = make_folder(tmp_path)
    paths = [tmp_path / f for f in ("t.npy", "v.npy", "s.json", "p.tsv")]
    stats = one_fold(tmp_path)
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
    stats = one_fold(tmp_path)
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
    [fold] = tokenize_folder(tmp_path / "midi", tmp_path / "m.tsv", 0.25)
    train, val, stats, rows = fold.train, fold.val, fold.stats, fold.rows
    assert stats.families == 12 and stats.pieces_val == 9 and stats.pieces_train == 27
    split = {r["piece_id"]: r["split"] for r in rows}
    for k in range(12):
        assert len({split[f"tune{k}_{v}"] for v in range(3)}) == 1, f"tune {k} split across train and validation"
    assert [r["piece_id"] for r in rows if r["split"] == "val"] == [p.piece_id for p in pieces
                                                                  if split[p.piece_id] == "val"]  # stream order
    assert (val == BOS).sum() == 9 and (train == BOS).sum() == 27


def test_the_token_cap_keeps_whole_pieces_and_marks_the_rest_unused(tmp_path):
    make_folder(tmp_path, n=20)
    paths = {"train_path": tmp_path / "t.npy", "pieces_path": tmp_path / "p.tsv"}
    full = one_fold(tmp_path, val_fraction=0.1)
    cap = full.tokens_train // 2
    capped = one_fold(tmp_path, val_fraction=0.1, train_tokens=cap)
    train = np.load(paths["train_path"])
    assert capped.tokens_train == len(train) <= cap and capped.tokens_train_uncapped == full.tokens_train
    assert capped.pieces_train + capped.pieces_unused == full.pieces_train and capped.pieces_unused > 0
    assert (train == BOS).sum() == (train == EOS).sum() == capped.pieces_train  # whole pieces only
    kept = load_pieces(paths["pieces_path"], "train")
    assert sum(r["tokens"] for r in kept) == len(train)
    assert capped.pieces_val == full.pieces_val  # the cap never touches the validation split
    again = one_fold(tmp_path, val_fraction=0.1, train_tokens=cap)
    assert again == capped and np.array_equal(np.load(paths["train_path"]), train)
    assert {r["split"] for r in read_table(paths["pieces_path"])} == {"train", "val", "unused"}
    assert cap_pieces([5, 5], ["a", "b"], None) == [0, 1]


def test_folds_partition_the_families_and_hold_out_every_piece_once(tmp_path):
    pieces = [Piece(f"tune{k}_{v}", f"file{k}_{v}.abc", tune(k, transpose=2 * v)) for k in range(12) for v in range(3)]
    write_midi_folder(pieces, tmp_path / "midi", tmp_path / "m.tsv")
    folds = tokenize_folder(tmp_path / "midi", tmp_path / "m.tsv", 0.25, folds=4)
    held = [{r["piece_id"] for r in f.rows if r["split"] == "val"} for f in folds]
    assert set().union(*held) == {p.piece_id for p in pieces} and sum(map(len, held)) == len(pieces)  # each once
    for k, fold in enumerate(folds, start=1):
        family = {r["piece_id"]: r["family"] for r in fold.rows}
        trained = {family[r["piece_id"]] for r in fold.rows if r["split"] == "train"}
        assert trained.isdisjoint({family[pid] for pid in held[k - 1]})  # no held-out family in training
        assert {r["fold"] for r in fold.rows if r["split"] == "val"} == {k} and fold.stats.fold == k
        assert (fold.val == BOS).sum() == len(held[k - 1]) and (fold.train == BOS).sum() == 36 - len(held[k - 1])
    assert sorted(map(len, held)) == [9, 9, 9, 9]  # whole families of three, dealt evenly


def test_more_folds_than_families_is_refused_naming_the_genre_folds_and_families(tmp_path):
    make_folder(tmp_path, n=4)
    with pytest.raises(ValueError, match=r"genre 'g': .*split.folds is 6 but there are only 4 tune families"):
        tokenize_genre(genre="g", midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                       val_fraction=0.2, train_paths=[tmp_path / f"t{k}.npy" for k in range(6)],
                       val_paths=[tmp_path / f"v{k}.npy" for k in range(6)],
                       stats_paths=[tmp_path / f"s{k}.json" for k in range(6)],
                       pieces_paths=[tmp_path / f"p{k}.tsv" for k in range(6)])
    assert not list(tmp_path.glob("t*.npy"))  # nothing written


def test_a_dev_set_takes_whole_training_side_families_and_leaves_the_held_out_pieces_alone(tmp_path):
    make_folder(tmp_path, n=30)
    plain = one_fold(tmp_path, val_fraction=0.2)
    plain_val = np.load(tmp_path / "v.npy")
    with_dev = tokenize_genre(genre="g", midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                              val_fraction=0.2, train_paths=[tmp_path / "t.npy"], val_paths=[tmp_path / "v.npy"],
                              stats_paths=[tmp_path / "s.json"], pieces_paths=[tmp_path / "p.tsv"],
                              dev_paths=[tmp_path / "d.npy"], dev_fraction=0.2)[0]
    assert np.array_equal(np.load(tmp_path / "v.npy"), plain_val)  # the test pieces do not move
    assert with_dev.pieces_dev == (np.load(tmp_path / "d.npy") == BOS).sum() > 0
    assert with_dev.pieces_train + with_dev.pieces_dev == plain.pieces_train
    splits = {r["piece_id"]: r["split"] for r in read_table(tmp_path / "p.tsv")}
    assert sorted(set(splits.values())) == ["dev", "train", "val"]
