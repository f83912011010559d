"""REMI tokenizer: vocabulary, exact round trips (hypothesis), time accounting, repair of malformed sequences."""

import shutil

import numpy as np
import pytest

from midi_genres.core.midi import read_midi
from midi_genres.core.notes import Note
from midi_genres.tokens.base import BOS, EOS
from midi_genres.tokens.remi import RemiTokenizer

TOK = RemiTokenizer()


def test_vocabulary_has_180_tokens_with_the_shared_specials_first():
    assert TOK.size == 180 and TOK.names[:4] == ["PAD", "BOS", "EOS", "BAR"]
    assert (TOK.token_id("POSITION_0"), TOK.token_id("PITCH_0"), TOK.token_id("DURATION_1")) == (4, 20, 148)
    assert TOK.names[-1] == "DURATION_32"
    tagged = RemiTokenizer(extra_tokens=("GENRE_bach",))
    assert tagged.token_id("GENRE_bach") == 180 and tagged.names[:180] == TOK.names


def test_bars_positions_pitches_and_durations():
    notes = [Note(60, 0, 4), Note(64, 0, 8), Note(67, 20, 90)]
    names = [TOK.names[i] for i in TOK.encode(notes)]
    assert names == ["BOS", "BAR", "POSITION_0", "PITCH_60", "DURATION_4", "PITCH_64", "DURATION_8",
                     "BAR", "POSITION_4", "PITCH_67", "DURATION_32", "DURATION_32", "DURATION_6", "EOS"]
    assert TOK.decode(TOK.encode(notes)) == notes
    assert TOK.elapsed_steps(TOK.encode(notes)) == 20  # the last onset
    empty_bars = [TOK.names[i] for i in TOK.encode([Note(50, 40, 41)], bos=False, eos=False)]
    assert empty_bars == ["BAR", "BAR", "BAR", "POSITION_8", "PITCH_50", "DURATION_1"]


def test_decoder_repairs_malformed_sequences():
    t = TOK.token_id
    ids = [BOS, t("DURATION_2"), t("BAR"), t("POSITION_4"), t("PITCH_60"), t("DURATION_8"), t("POSITION_6"),
           t("PITCH_60"), t("DURATION_2"), t("PITCH_62"), t("POSITION_2"), t("PAD"), t("PITCH_64")]
    notes, report = TOK.decode_with_report(ids)
    assert notes == [Note(60, 4, 6), Note(60, 6, 8), Note(64, 6, 7)]
    assert (report.orphan_note_offs, report.retriggered_notes, report.empty_notes, report.special_tokens,
            report.unclosed_notes) == (1, 1, 1, 2, 1)
    assert TOK.decode([t("BAR"), t("POSITION_0"), t("PITCH_60"), t("DURATION_1"), EOS, t("PITCH_61")]) == [
        Note(60, 0, 1)]


def test_the_clock_follows_bars_and_positions_token_by_token():
    clock = TOK.clock()
    times = []
    for name in ["BOS", "BAR", "POSITION_3", "PITCH_60", "DURATION_4", "POSITION_1", "BAR", "BAR", "POSITION_15"]:
        clock.feed(TOK.token_id(name))
        times.append(clock.now)
    assert times == [0, 0, 3, 3, 3, 3, 16, 32, 47]


@pytest.mark.slow
def test_a_remi_run_beside_the_event_run_and_their_comparison(run):
    """The shared tiny run again with REMI tokens into results-remi/, compared with results/; removed afterwards."""
    from workflow_helpers import GENRES, snakemake

    from midi_genres.core.tables import read_table
    from midi_genres.model.checkpoint import load_checkpoint

    args = ["--config", "tokenizer=remi", "results_dir=results-remi", "compare_with=[results]"]
    before = {p: p.stat().st_mtime_ns for p in (run / "results").rglob("*") if p.is_file()}
    try:
        snakemake(run, "--cores", "2", "results-remi/compare_runs.tsv", *args)
        for genre in GENRES:
            stream = np.load(run / f"data/tokens/remi/{genre}.npy")
            assert stream.max() < 180 and (stream == TOK.token_id("BAR")).any()
            load_checkpoint(run / f"results-remi/checkpoints/{genre}.pt", vocab=TOK.names)
            assert read_midi(run / f"results-remi/samples/{genre}.mid")
        rows = read_table(run / "results-remi/compare_runs.tsv")
        assert list(rows[0]) == ["genre", "measure", "results", "results-remi"]
        assert {r["genre"] for r in rows} == set(GENRES)
        bits = {r["genre"]: r for r in rows if r["measure"] == "bits_per_note"}
        assert all(float(bits[g]["results"]) > 0 and float(bits[g]["results-remi"]) > 0 for g in GENRES)
        assert (run / "results-remi/compare_runs.png").read_bytes()[:4] == b"\x89PNG"
        # the same held-out pieces under both tokenizers: bits per note compared piece by piece
        paired = read_table(run / "results-remi/compare_runs_paired.tsv")
        assert [r["genre"] for r in paired] == GENRES and {r["against"] for r in paired} == {"results"}
        for r in paired:
            assert float(r["difference"]) == pytest.approx(
                float(r["bits_per_note"]) - float(r["against_bits_per_note"]), abs=2e-4)
        # what each model learned works on REMI tokens too: parts (BAR/POSITION = timing), floor, classifier
        summary = read_table(run / "results-remi/summary.tsv")
        assert all(float(r["timing_bits_per_note"]) > 0 and float(r["ngram_bits_per_note"]) > 0 for r in summary)
        assert {r["set"] for r in read_table(run / "results-remi/fidelity.tsv")} >= {"validation", "samples"}
        # the event run is untouched and still up to date
        assert before == {p: p.stat().st_mtime_ns for p in (run / "results").rglob("*") if p.is_file()}
        assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(snakemake(run, "-n"))
    finally:
        shutil.rmtree(run / "results-remi", ignore_errors=True)
        shutil.rmtree(run / "data/tokens/remi", ignore_errors=True)


@pytest.mark.parametrize("setting, message", [
    ("tokenizer=midilike", "'midilike' is not one of"),
    ("results_dir=data/results", "must not lie in data/"),
])
def test_bad_tokenizer_or_results_dir_fails_at_once(tmp_path, setting, message):
    from workflow_helpers import snakemake, tiny_config

    proc = snakemake(tmp_path, "-n", "--config", setting, config=tiny_config(), check=False)
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
