"""Runs compared piece by piece: paired where both held out the same pieces, skipped with a reason otherwise."""

import logging

from midi_genres.analysis.heldout import PIECE_COLUMNS
from midi_genres.core.tables import write_table
from midi_genres.experiments.compare_runs import paired_rows


def write_run(folder, bits):
    (folder / "eval").mkdir(parents=True)
    rows = [{"model": "bach", "data": "bach", "piece_id": f"p{j}", "family": f"f{j // 2}", "fold": 1, "tokens": 9,
             "notes": 3, "bits": b, "bits_pitch": b, "bits_timing": 0, "bits_duration": 0, "bits_structure": 0}
            for j, b in enumerate(bits)]
    write_table(rows, PIECE_COLUMNS, folder / "eval" / "bach.pieces.tsv")


def test_the_same_pieces_are_compared_in_pairs_and_an_older_run_is_skipped_saying_why(tmp_path, caplog):
    write_run(tmp_path / "a", [6.0, 9.0, 3.0, 6.0])
    write_run(tmp_path / "b", [3.0, 6.0, 3.0, 3.0])
    (tmp_path / "old" / "eval").mkdir(parents=True)
    (tmp_path / "old" / "eval" / "bach.pieces.tsv").write_text("model\tdata\tpiece\tnotes\tbits\nbach\tbach\t0\t3\t6\n")
    labels = [str(tmp_path / "a"), str(tmp_path / "old"), str(tmp_path / "b")]
    with caplog.at_level(logging.WARNING):
        rows = paired_rows(["bach"], labels, [{"bach": {}}] * 3)
    [row] = rows
    assert row["against"] == labels[0] and row["difference"] == -0.75 and row["verdict"] in ("lower", "tie")
    assert row["held_out_families"] == 2
    assert "no paired comparison" in caplog.text and "old" in caplog.text
