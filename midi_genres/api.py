"""Play with the trained models of a run from Python (a notebook): load one, generate music, score MIDI files.

    from midi_genres.api import load_model, score
    bach = load_model("bach")                # results/checkpoints/bach.pt
    piece = bach.generate(seconds=30, seed=1)
    piece.write_midi("bach.mid")
    score("my.mid")                          # bits per note under every model of the run, best first

Everything here calls the package's own sampling (``model.sample.generate``) and evaluation (``analysis.likelihood
.token_nll`` + ``analysis.heldout.likelihood_tables``), so a score is what the workflow's evaluation would give.
``midi_genres.cli`` (the ``midi-genres`` command) is a thin layer over this module.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from midi_genres.analysis.bootstrap import ratio_interval
from midi_genres.analysis.heldout import PART_COLUMNS, likelihood_tables
from midi_genres.analysis.likelihood import token_nll
from midi_genres.core.constants import STEPS_PER_BAR
from midi_genres.core.defaults import defaults
from midi_genres.core.midi import read_midi, write_midi
from midi_genres.core.notes import (
    Note,
    continuation_notes,
    normalize,
    seconds_to_steps,
    split_at,
    steps_to_seconds,
)
from midi_genres.core.tables import number, read_table
from midi_genres.model.checkpoint import CheckpointError, load_checkpoint
from midi_genres.model.runtime import trained_precision
from midi_genres.model.sample import SampleConfig, generate
from midi_genres.model.transformer import MusicTransformer
from midi_genres.tokens import TOKENIZERS, make_tokenizer
from midi_genres.tokens.base import BOS, DecodeReport, Tokenizer

log = logging.getLogger(__name__)

DEFAULT_TEMPO = 120.0  # bpm of a model whose checkpoint has no card (trained before model cards)
SEGMENT_BARS = 8  # a scored file's interval is over segments of this many bars
# <genre>[.fold<k>][.seed<k>][.best_dev].pt: the command plays fold 1's models (the genre's), at the checkpoint the
# run chose (train.select, in summary.tsv's "selected" column; the last one for runs from before the column)
CHECKPOINT_NAME = re.compile(
    r"^(?P<genre>.+?)(?:\.fold(?P<fold>[0-9]+))?(?:\.seed(?P<rep>[1-9][0-9]*))?(?P<best>\.best_dev)?\.pt$")
RUN_HINT = "`make run` (or `snakemake --cores 2`) trains a run; another run's folder is chosen with --results DIR"
SCORE_COLUMNS = ["genre", "title", "notes", "tokens", "seconds", "bits", "bits_per_token", "bits_per_note",
                 "bits_per_note_low", "bits_per_note_high", "bits_per_second", *PART_COLUMNS]


class PlayError(ValueError):
    """A problem with what was asked (no run, unknown genre, bad settings, a MIDI file without notes); the message
    says what to do."""


# ---------------------------------------------------------------------------------------------------------------
# The run: its checkpoints and summary


def run_checkpoints(results: str | os.PathLike = "results") -> dict[str, list[Path]]:
    """Checkpoints of every genre of a finished run: genre -> [first model, ``.seed1``, ``.seed2``, ...] (fold 1's, at
    the checkpoint the run chose), genres in the order of ``summary.tsv`` when present. ``PlayError`` if the folder
    holds none."""
    folder = Path(results) / "checkpoints"
    rows = summary_rows(results)
    best_dev = bool(rows) and rows[0].get("selected") == "best_dev"
    found: dict[str, dict[int, Path]] = {}
    for path in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        match = CHECKPOINT_NAME.match(path.name)
        if match and match["fold"] is None and bool(match["best"]) == best_dev:
            found.setdefault(match["genre"], {})[int(match["rep"] or 0)] = path
    if not found:
        raise PlayError(f"no trained models in {folder}: no finished run there. {RUN_HINT}")
    order = [row["genre"] for row in rows]
    genres = [g for g in order if g in found] + sorted(g for g in found if g not in order)
    return {g: [found[g][k] for k in sorted(found[g])] for g in genres}


def summary_rows(results: str | os.PathLike = "results") -> list[dict]:
    """Rows of the run's ``summary.tsv`` (strings), or [] before the run has written it."""
    path = Path(results) / "summary.tsv"
    return read_table(path) if path.is_file() else []


def checkpoint_path(genre_or_path: str | os.PathLike, results: str | os.PathLike = "results", seed: int = 0) -> Path:
    """The checkpoint a name stands for: a ``.pt`` file as it is, else a genre of the run (``seed`` k > 0: its
    ``.seed{k}`` model). ``PlayError`` naming the known genres or seeds when there is none."""
    text = str(genre_or_path)
    if text.endswith(".pt") or any(sep and sep in text for sep in (os.sep, os.altsep)):
        path = Path(text)
        if not path.is_file():
            raise PlayError(f"{path}: no such checkpoint file")
        return path
    checkpoints = run_checkpoints(results)
    if text not in checkpoints:
        raise PlayError(f"unknown genre {text!r}: the run in {results} has models of {', '.join(checkpoints)}")
    seeds = checkpoints[text]
    if not 0 <= seed < len(seeds):
        raise PlayError(f"{text} has {len(seeds)} seeded model(s) in {results}: seed must be 0 to {len(seeds) - 1}")
    return seeds[seed]


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint's plain data, loaded safely (``weights_only``); ``CheckpointError`` naming an unreadable file."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(checkpoint, dict) or "vocab" not in checkpoint:
        raise CheckpointError(f"{path}: not a midi-genres checkpoint")
    return checkpoint


def tokenizer_of(checkpoint: dict, path: str | os.PathLike = "checkpoint") -> str:
    """The tokenizer (``event`` or ``remi``) whose vocabulary a checkpoint was trained on; ``CheckpointError`` for any
    other vocabulary (e.g. the conditional model's, with genre tokens)."""
    vocab = list(checkpoint["vocab"])
    for name in TOKENIZERS:
        if vocab == make_tokenizer(name).names:
            return name
    known = ", ".join(f"{name} ({make_tokenizer(name).size} tokens)" for name in TOKENIZERS)
    raise CheckpointError(f"{path}: trained on another vocabulary ({len(vocab)} tokens: {', '.join(vocab[:4])}, ...) "
                          f"than those of the tokenizers {known}; only one genre's model of a run can be played")


def genre_of(path: str | os.PathLike) -> str:
    """The genre a checkpoint file's name says (``bach.seed1.pt``, ``bach.fold2.best_dev.pt`` -> ``bach``)."""
    match = CHECKPOINT_NAME.match(Path(path).name)
    return match["genre"] if match else Path(path).stem


def describe(checkpoint: dict, path: str | os.PathLike) -> dict:
    """The model card of a loaded checkpoint: its stored ``card`` over what every checkpoint holds (architecture,
    tokenizer, parameters, steps, seed, final losses). ``card`` says whether the checkpoint has a stored card."""
    history = checkpoint.get("history") or [{}]
    settings = checkpoint.get("train_config") or {}
    stored = checkpoint.get("card") or {}
    derived = {"path": str(path), "genre": genre_of(path), "title": genre_of(path), "tokenizer": None,
               "vocab_size": len(checkpoint["vocab"]),
               "architecture": dict(checkpoint.get("model_config") or {}), "parameters": checkpoint.get("parameters"),
               "steps": settings.get("steps"), "seed": settings.get("seed"), "precision": settings.get("precision"),
               "final_train_loss": history[-1].get("train_loss"), "final_val_loss": history[-1].get("val_loss"),
               "version": None, "tempo": None, "drums": None}
    try:
        derived["tokenizer"] = tokenizer_of(checkpoint, path)
    except CheckpointError:
        derived["tokenizer"] = f"other ({len(checkpoint['vocab'])} tokens)"
    card = {**derived, **{k: v for k, v in stored.items() if v is not None}, "card": bool(stored)}
    card["title"] = card["title"] or card["genre"]
    return card


def model_card(checkpoint_path: str | os.PathLike) -> dict:
    """The model card of a checkpoint file (see ``describe``)."""
    return describe(read_checkpoint(checkpoint_path), checkpoint_path)


def list_models(results: str | os.PathLike = "results") -> list[dict]:
    """One row per genre of the run: genre, title, source, tokens_train, steps, seeds, bits_per_note (held out) with
    bits_per_note_low/high, the floors' ngram_bits_per_note and ppm_bits_per_note, checkpoint. From ``summary.tsv``
    where the run has written it (NaN where it has not, or where an older run has no such column), else the model
    cards."""
    checkpoints = run_checkpoints(results)
    summary = {row["genre"]: row for row in summary_rows(results)}
    rows = []
    for genre, paths in checkpoints.items():
        row = summary.get(genre)
        if row is None:
            card = model_card(paths[0])
            row = {"title": card["title"], "source": card.get("source", ""), "tokens_train": card.get("tokens_train"),
                   "steps": card["steps"]}
        rows.append({"genre": genre, "title": row.get("title") or genre, "source": row.get("source") or "",
                     "tokens_train": _int(row.get("tokens_train")), "steps": _int(row.get("steps")),
                     "seeds": len(paths), **{c: number(row.get(c)) for c in
                                             ("bits_per_note", "bits_per_note_low", "bits_per_note_high",
                                              "ngram_bits_per_note", "ppm_bits_per_note")},
                     "checkpoint": str(paths[0])})
    return rows


def _int(value) -> int | None:
    return None if value in (None, "", "NA") else int(float(value))


# ---------------------------------------------------------------------------------------------------------------
# Notes in and out


def read_notes(midi: str | os.PathLike | Sequence[Note]) -> tuple[str, list[Note]]:
    """(name, canonical notes) of a MIDI file or a note list; ``PlayError`` if there are no notes, ``MidiReadError``
    (naming the file) if it cannot be read."""
    if isinstance(midi, (str, os.PathLike)):
        name, notes = str(midi), read_midi(midi)
    else:
        name, notes = "notes", normalize(Note(*n) for n in midi)
    if not notes:
        raise PlayError(f"{name}: no notes in it (a MIDI file of notes is needed)")
    return name, notes


@dataclass
class GeneratedPiece:
    """A generated piece: ``notes`` (the prompt's first, if any), where generation began (``prompt_end``, in 16th
    steps), and how to play it (``tempo``, ``drums``)."""

    notes: list[Note]
    prompt_end: int
    tempo: float
    drums: bool
    tokens: list[int] = field(repr=False)
    report: DecodeReport = field(repr=False)
    prompt_notes: list[Note] = field(default_factory=list, repr=False)
    genre: str = ""
    seed: int = 0

    @property
    def seconds(self) -> float:
        """Length in seconds at ``tempo``."""
        return steps_to_seconds(max((n.end for n in self.notes), default=0), self.tempo)

    @property
    def continuation(self) -> list[Note]:
        """The generated notes only (not the prompt's), shifted to start at 0."""
        return continuation_notes(self.notes, self.prompt_notes, self.prompt_end)

    def write_midi(self, path: str | os.PathLike) -> Path:
        """Write the piece as a one-track MIDI file (a drum track for a drum genre); returns the path."""
        write_midi(path, self.notes, self.tempo, drums=self.drums)
        return Path(path)

    def to_pretty_midi(self):
        """The piece as a ``pretty_midi.PrettyMIDI`` object (what ``write_midi`` writes), e.g. for ``.synthesize()``."""
        import pretty_midi

        with tempfile.TemporaryDirectory(prefix="midi_genres.") as tmp:
            return pretty_midi.PrettyMIDI(str(self.write_midi(Path(tmp) / "piece.mid")))

    def write_audio(self, path: str | os.PathLike, audio: dict | None = None) -> Path:
        """Render the piece as audio with FluidSynth (format from the file's extension: ogg, mp3, flac or wav);
        ``audio`` is the config's ``audio`` section. Raises ``AudioToolMissing`` naming what to install."""
        from midi_genres.present.audio import render_midi

        with tempfile.TemporaryDirectory(prefix="midi_genres.") as tmp:
            render_midi(self.write_midi(Path(tmp) / "piece.mid"), path, audio_config(path, audio))
        return Path(path)


def audio_config(path: str | os.PathLike, audio: dict | None = None):
    """The ``AudioConfig`` that renders to ``path`` (its extension names the format); ``PlayError`` for another."""
    from midi_genres.present.audio import ENCODERS, AudioConfig

    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ENCODERS:
        kinds = ", ".join("." + f for f in ENCODERS)
        raise PlayError(f"{path}: audio files are {kinds}, not {'.' + fmt if fmt else 'without an extension'}")
    return replace(AudioConfig.from_params(audio or {}), format=fmt)


def check_sample_settings(seconds: float, temperature: float, top_k: int, seed: int, prompt_bars: int) -> None:
    """``PlayError`` naming the first setting out of range."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise PlayError(f"seconds must be a positive number, got {seconds}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise PlayError(f"temperature must be > 0, got {temperature}")
    if top_k < 0:
        raise PlayError(f"top_k must be >= 0 (0 samples from every token), got {top_k}")
    if seed < 0:
        raise PlayError(f"seed must be >= 0, got {seed}")
    if prompt_bars < 1:
        raise PlayError(f"prompt_bars must be >= 1, got {prompt_bars}")


# ---------------------------------------------------------------------------------------------------------------
# A trained model


@dataclass
class TrainedModel:
    """One trained genre model, ready to play: the network, its tokenizer, the checkpoint and its card, and how its
    music is played (``tempo`` in bpm, ``drums``)."""

    model: MusicTransformer = field(repr=False)
    tokenizer: Tokenizer = field(repr=False)
    checkpoint: dict = field(repr=False)
    card: dict = field(repr=False)
    genre: str
    tempo: float
    drums: bool
    path: Path

    @property
    def title(self) -> str:
        """The genre's display title."""
        return self.card.get("title") or self.genre

    @property
    def precision(self) -> str:
        """The precision the model trained in, resolved on this machine's CPU: what scoring uses, as evaluation."""
        return trained_precision(self.checkpoint, torch.device("cpu"))

    def generate(self, seconds: float | None = None, temperature: float | None = None, top_k: int | None = None,
                 seed: int | None = None, prompt: str | os.PathLike | Sequence[Note] | None = None,
                 prompt_bars: int = 4, max_tokens: int | None = None) -> GeneratedPiece:
        """``seconds`` of new music at the model's tempo (after the prompt, if any), sampled at ``temperature`` from
        the ``top_k`` likeliest tokens (0: all) with ``seed``; defaults: the config's ``sample`` section.

        ``prompt`` (a MIDI file or notes): the model continues its first ``prompt_bars`` bars, whose notes stay as they
        are at the start of the piece. ``max_tokens`` caps the tokens (default: the config's cap, scaled with
        ``seconds``)."""
        d = defaults("sample")
        seconds = d["seconds"] if seconds is None else float(seconds)
        temperature = d["temperature"] if temperature is None else float(temperature)
        top_k = d["top_k"] if top_k is None else int(top_k)
        seed = d["seed"] if seed is None else int(seed)
        check_sample_settings(seconds, temperature, top_k, seed, prompt_bars)
        head, start, prompt_end = [], None, 0
        if prompt is not None:
            name, notes = read_notes(prompt)
            head, _ = split_at(notes, prompt_bars * STEPS_PER_BAR)
            if not head:
                raise PlayError(f"{name}: no notes in its first {prompt_bars} bar(s) to continue (its first note is in "
                                f"bar {notes[0].start // STEPS_PER_BAR + 1}): take more bars (--prompt-bars)")
            start = [int(t) for t in self.tokenizer.encode(head, eos=False)]
            prompt_end = self.tokenizer.elapsed_steps(start)
        if max_tokens is None:  # the config's cap for its seconds, scaled to these, after the prompt
            max_tokens = len(start or [BOS]) + max(d["max_tokens"], math.ceil(d["max_tokens"] * seconds / d["seconds"]))
        cfg = SampleConfig(seconds=seconds, temperature=temperature, top_k=top_k, seed=seed, max_tokens=max_tokens)
        max_steps = seconds_to_steps(seconds, self.tempo)
        tokens = generate(self.model, self.tokenizer, max_steps, cfg, prompt=start)
        if len(tokens) >= max_tokens and self.tokenizer.elapsed_steps(tokens) - prompt_end < max_steps:
            log.warning("%s: generation stopped at max_tokens=%d before %g s of music", self.genre, max_tokens, seconds)
        notes, report = self.tokenizer.decode_with_report(tokens)
        return GeneratedPiece(notes, prompt_end, self.tempo, self.drums, tokens, report, head, self.genre, seed)

    def score(self, midi: str | os.PathLike | Sequence[Note]) -> dict:
        """How well the model predicts a MIDI file (or notes), as the workflow evaluates held-out pieces: bits per note
        with the parts (pitch / timing / duration / structure per note), bits per token and per second (at the
        model's tempo). ``bits_per_note_low/high``: a 95% bootstrap interval over the file's 8-bar segments."""
        return self.score_notes(*read_notes(midi))

    def score_notes(self, name: str, notes: Sequence[Note]) -> dict:
        """``score`` of notes already read (canonical, not empty), reported under ``name``."""
        stream = self.tokenizer.encode(notes)
        nll = token_nll(self.model, stream, precision=self.precision)
        seconds = steps_to_seconds(max(n.end for n in notes), self.tempo)
        piece = {"notes": len(notes), "piece_id": name, "family": name}
        row, _ = likelihood_tables(self.genre, name, stream, nll, self.tokenizer, [piece], seconds)
        row["bits_per_note_low"], row["bits_per_note_high"] = self._segment_interval(stream, nll, notes)
        return {"genre": self.genre, "title": self.title, **{c: row[c] for c in SCORE_COLUMNS[2:]}}

    def _segment_interval(self, stream: np.ndarray, nll: np.ndarray, notes: list[Note]) -> tuple[float, float]:
        """The project's bootstrap interval of bits per note, over ``SEGMENT_BARS``-bar segments of one piece (each
        token in the segment of the time it is read at, each note in that of its onset); NaN for one segment."""
        clock, when = self.tokenizer.clock(), []
        for token in stream[1:]:
            when.append(clock.now)
            clock.feed(int(token))
        length = SEGMENT_BARS * STEPS_PER_BAR
        segment = np.asarray(when, dtype=np.int64) // length
        n = int(max(segment.max(initial=0), max(x.start for x in notes) // length)) + 1
        bits = np.bincount(segment, weights=nll / math.log(2), minlength=n)
        counts = np.bincount([x.start // length for x in notes], minlength=n)
        low, high = ratio_interval(bits, counts)
        return round(low, 4), round(high, 4)


_MODELS: dict[tuple[str, int], TrainedModel] = {}


def load_model(genre_or_path: str | os.PathLike, results: str | os.PathLike = "results", seed: int = 0,
               cache: bool = True, threads: int | None = 1) -> TrainedModel:
    """A trained model: a genre of the run in ``results`` (``seed`` k > 0: its ``.seed{k}`` model) or a checkpoint
    file. Each file is loaded once per process (``cache``). Tempo and drums come from the model card; a checkpoint
    without one plays at 120 bpm, not as drums (a warning says so).

    ``threads``: torch's threads for this process, as ``load_for_inference`` sets them (None leaves them). One is the
    fastest for these small models: sampling is a chain of tiny steps, and a second thread that has to wait for a
    busy core slows sampling by up to 10x."""
    if threads is not None:
        torch.set_num_threads(threads)
    path = checkpoint_path(genre_or_path, results, seed)
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if cache and key in _MODELS:
        return _MODELS[key]
    model, checkpoint = load_checkpoint(path)
    name = tokenizer_of(checkpoint, path)
    card = describe(checkpoint, path)
    tempo, drums = card["tempo"], card["drums"]
    if tempo is None or drums is None:
        log.warning("%s has no model card with its tempo and drums (trained before cards): playing at %g bpm, %s",
                    path, DEFAULT_TEMPO, "as a drum track" if drums else "not as drums")
    trained = TrainedModel(model, make_tokenizer(name), checkpoint, card, card["genre"],
                           float(tempo or DEFAULT_TEMPO), bool(drums), path)
    if cache:
        _MODELS[key] = trained
    return trained


def score(midi: str | os.PathLike | Sequence[Note], results: str | os.PathLike = "results",
          threads: int | None = 1) -> list[dict]:
    """A MIDI file (or notes) scored by every genre's (first) model of the run: ``TrainedModel.score`` rows, ranked by
    bits per note (``rank`` 1: the genre whose model finds it likeliest). Each model loads once per process."""
    name, notes = read_notes(midi)  # read once; an unreadable or empty file fails before any model loads
    rows = [load_model(genre, results, threads=threads).score_notes(name, notes) for genre in run_checkpoints(results)]
    rows.sort(key=lambda r: (math.isnan(r["bits_per_note"]), r["bits_per_note"]))
    return [{"rank": k, **row} for k, row in enumerate(rows, start=1)]
