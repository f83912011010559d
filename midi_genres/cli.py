"""The ``midi-genres`` command: play with the trained models of a run (list them, generate, score MIDI files, read a
model card). A thin layer over ``midi_genres.api``; exit status 2 for a usage or input error, 1 for a failure."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

from midi_genres import __version__
from midi_genres.core.defaults import defaults

PROG = "midi-genres"
USER_ERROR, FAILURE = 2, 1


def _number(kind, test, wanted: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


positive_float = _number(float, lambda v: v > 0 and math.isfinite(v), "a positive number")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``midi-genres [--results DIR] [--version] {list,generate,score,info}``."""
    sample = defaults("sample")
    parser = argparse.ArgumentParser(
        prog=PROG, description="Play with the models of a finished midi-genres run: list them, generate music from "
        "one, score MIDI files under all of them, read a model card.",
        epilog="Train a run first: `make run` (or `snakemake --cores 2`). Python API: midi_genres.api (docs/play.md).")
    parser.add_argument("--results", default="results", metavar="DIR",
                        help="the run's results folder (default: results; e.g. results-remi)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    results = argparse.ArgumentParser(add_help=False)  # --results after the subcommand too
    results.add_argument("--results", default=argparse.SUPPRESS, metavar="DIR",
                         help="the run's results folder (default: results)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,generate,score,info,download}")

    commands.add_parser("list", parents=[results], help="the trained models of the run, with held-out bits per note",
                        description="One line per trained model: genre, title, corpus, training tokens, steps, "
                        "seeds, held-out bits per note with its 95%% interval, and the two floors' bits per note "
                        "beside it: the n-gram floor (Kneser-Ney) and the IDyOM-style floor (from summary.tsv).")

    gen = commands.add_parser("generate", parents=[results], help="generate music with one model",
                              description="Generate music with a genre's model (or a checkpoint file) as MIDI, "
                              "optionally continuing the first bars of a MIDI file and rendering audio.")
    gen.add_argument("model", metavar="GENRE|CHECKPOINT", help="a genre of the run, or a .pt checkpoint file")
    gen.add_argument("-o", "--output", metavar="OUT.mid", help="MIDI file to write (default: GENRE.mid)")
    gen.add_argument("--seconds", type=positive_float, default=sample["seconds"], metavar="S",
                     help="seconds of new music at the genre's tempo (default: %(default)s)")
    gen.add_argument("--temperature", type=positive_float, default=sample["temperature"], metavar="T",
                     help="sampling temperature > 0 (default: %(default)s)")
    gen.add_argument("--top-k", type=non_negative_int, default=sample["top_k"], metavar="K",
                     help="sample from the K likeliest tokens, 0 = all (default: %(default)s)")
    gen.add_argument("--seed", type=non_negative_int, default=sample["seed"], metavar="S",
                     help="random seed: the same seed gives the same music (default: %(default)s)")
    gen.add_argument("--prompt", metavar="MY.mid", help="continue the first bars of this MIDI file")
    gen.add_argument("--prompt-bars", type=positive_int, metavar="N",
                     help="bars of the prompt to continue (default: 4)")
    gen.add_argument("--audio", metavar="OUT.ogg", help="also render audio (.ogg, .mp3, .flac or .wav; FluidSynth)")

    sco = commands.add_parser("score", parents=[results], help="score MIDI files under every model of the run",
                              description="Bits per note of each MIDI file under every model of the run, best "
                              "(lowest) first, split into pitch, timing, duration and structure.")
    sco.add_argument("files", nargs="+", metavar="FILE.mid", help="MIDI files to score")
    sco.add_argument("--json", action="store_true", help="print JSON instead of tables")

    info = commands.add_parser("info", parents=[results], help="show a model card",
                               description="The model card of a checkpoint: genre, corpus, pieces, tokens, "
                               "architecture, tokenizer, steps, seed, final losses, package version.")
    info.add_argument("model", metavar="CHECKPOINT|GENRE", help="a .pt checkpoint file, or a genre of the run")

    down = commands.add_parser("download", help="download LMD-matched, its match scores and the tagtraum labels",
                               description="Fetch the files of the config's download section (default: "
                               "LMD-matched, match_scores.json, the tagtraum label files) into its dest folder: "
                               "resumable, checked against the sizes and SHA-256 the config pins, unpacked "
                               "atomically (docs/lakh.md).")
    down.add_argument("names", nargs="*", metavar="NAME", help="only these files (default: all of them)")
    down.add_argument("--configfile", action="append", default=[], metavar="FILE",
                      help="a config file whose download section pins sizes and checksums (repeatable)")
    down.add_argument("--dest", metavar="DIR", help="the folder to fill (default: the config's download.dest)")
    down.add_argument("--retries", type=non_negative_int, default=3, metavar="N",
                      help="broken transfers resumed within the call (default: %(default)s)")
    return parser


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _interval(low, high) -> str:
    return "-" if any(v is None or math.isnan(v) for v in (low, high)) else f"[{low:.3f}, {high:.3f}]"


def table(rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Rows of cells as aligned text (the first row is the header; columns in ``right`` right-aligned)."""
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths)))
                     .rstrip() for r in rows)


# ---------------------------------------------------------------------------------------------------------------
# Subcommands


def cmd_list(args) -> int:
    """``midi-genres list``."""
    from midi_genres.api import list_models, summary_rows

    rows = [["genre", "title", "corpus", "tokens", "steps", "seeds", "bits/note", "95% interval", "n-gram floor",
             "IDyOM floor"]]
    for m in list_models(args.results):
        rows.append([m["genre"], m["title"], m["source"] or "-", _fmt(m["tokens_train"]), _fmt(m["steps"]),
                     str(m["seeds"]), _fmt(m["bits_per_note"]),
                     _interval(m["bits_per_note_low"], m["bits_per_note_high"]), _fmt(m["ngram_bits_per_note"]),
                     _fmt(m["ppm_bits_per_note"])])
    print(table(rows, right={3, 4, 5, 6, 8, 9}))
    if not summary_rows(args.results):
        print(f"({args.results}/summary.tsv not written yet: held-out bits per note appear once the run has finished)",
              file=sys.stderr)
    return 0


def _progress_to_terminal() -> None:
    """Show the sampler's progress lines (every 512 tokens) on stderr when it is a terminal."""
    if sys.stderr.isatty():
        logger = logging.getLogger("midi_genres.model.sample")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def cmd_generate(args) -> int:
    """``midi-genres generate``."""
    from midi_genres.api import PlayError, audio_config, load_model
    from midi_genres.present.audio import AudioToolMissing, missing_tools

    if args.prompt_bars is not None and args.prompt is None:
        raise PlayError("--prompt-bars needs --prompt MY.mid (the file whose first bars are continued)")
    audio = None
    if args.audio:  # checked before minutes of generation, not after
        audio = audio_config(args.audio)
        missing = missing_tools(audio)
        if missing:
            raise AudioToolMissing(f"cannot render --audio {args.audio}: " + "; ".join(missing)
                                   + " (or leave out --audio)")
    model = load_model(args.model, args.results)
    out = Path(args.output or f"{model.genre}.mid")
    for path in (out, Path(args.audio) if args.audio else None):
        if path is not None and not path.resolve().parent.is_dir():
            raise PlayError(f"{path}: its folder {path.resolve().parent} does not exist")
    _progress_to_terminal()
    started = time.perf_counter()
    piece = model.generate(seconds=args.seconds, temperature=args.temperature, top_k=args.top_k, seed=args.seed,
                           prompt=args.prompt, prompt_bars=args.prompt_bars or 4)
    took = time.perf_counter() - started
    piece.write_midi(out)
    prompt = ""
    if args.prompt:
        prompt = (f", continuing {len(piece.prompt_notes)} notes of the first {args.prompt_bars or 4} bars of "
                  f"{args.prompt}")
    print(f"wrote {out}: {len(piece.notes)} notes, {piece.seconds:.1f} s at {model.tempo:g} bpm"
          f"{' (drum track)' if model.drums else ''}{prompt}; {model.genre} model, seed {args.seed}, "
          f"{len(piece.tokens)} tokens in {took:.2f} s")
    if audio is not None:
        from midi_genres.present.audio import render_midi

        render_midi(out, args.audio, audio)
        print(f"wrote {args.audio}")
    return 0


SCORE_HEADER = ["rank", "genre", "title", "bits/note", "95% interval", "pitch", "timing", "duration", "structure",
                "bits/token"]


def cmd_score(args) -> int:
    """``midi-genres score``."""
    from midi_genres.analysis.heldout import PART_COLUMNS
    from midi_genres.api import read_notes, score

    for name in args.files:  # every file is checked before any is scored
        read_notes(name)
    results = [{"file": name, "models": score(name, args.results)} for name in args.files]
    if args.json:
        print(json.dumps(_json_safe(results), indent=1))
        return 0
    for k, result in enumerate(results):
        first = result["models"][0]
        rows = [SCORE_HEADER] + [[str(r["rank"]), r["genre"], r["title"], _fmt(r["bits_per_note"]),
                                  _interval(r["bits_per_note_low"], r["bits_per_note_high"]),
                                  *(_fmt(r[column]) for column in PART_COLUMNS),
                                  _fmt(r["bits_per_token"])] for r in result["models"]]
        print(("\n" if k else "") + f"{result['file']}: {first['notes']:,} notes, {first['tokens']:,} tokens; "
              f"bits per note under each model (lower = likelier), split into what is predicted:")
        print(table(rows, right={0, 3, 5, 6, 7, 8, 9}))
    return 0


def _json_safe(value):
    """NaN as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def cmd_info(args) -> int:
    """``midi-genres info``."""
    from midi_genres.api import checkpoint_path, model_card

    path = checkpoint_path(args.model, args.results)
    card = model_card(path)
    arch = card["architecture"]
    lines = [
        ("checkpoint", str(path)),
        ("genre", f"{card['genre']} ({card['title']})"),
        ("corpus", card.get("source") or "-"),
        ("families", _fmt(card.get("families"))),
        ("pieces", f"{_fmt(card.get('pieces_train'))} training pieces"),
        ("tokens", f"{_fmt(card.get('tokens_train'))} training tokens"),
        ("played at", f"{_fmt(card['tempo'], 0)} bpm{', as a drum track' if card['drums'] else ''}"
         if card["tempo"] is not None else "-"),
        ("tokenizer", f"{card['tokenizer']} ({card['vocab_size']} tokens)"),
        ("architecture", f"{arch.get('n_layers')} layers, d_model {arch.get('d_model')}, {arch.get('n_heads')} heads, "
         f"d_ff {arch.get('d_ff')}, context {arch.get('max_len')} tokens, dropout {arch.get('dropout')}; "
         f"{_fmt(card['parameters'])} parameters"),
        ("training", f"{_fmt(card['steps'])} steps, seed {card['seed']}, precision {card.get('precision') or '-'}"),
        ("final loss", f"train {_fmt(card['final_train_loss'], 4)}, validation {_fmt(card['final_val_loss'], 4)} "
         "nats/token"),
        ("version", f"midi-genres {card['version']}" if card["version"] else "-"),
    ]
    if not card["card"]:
        lines.append(("card", "none: trained before model cards (played at 120 bpm, not as drums)"))
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in lines))
    return 0


def download_settings(configfiles: list[str], dest: str | None = None) -> dict:
    """The download section: the schema's defaults, each config file's entries merged in file by file."""
    import yaml

    settings = defaults("download")
    files = {name: dict(spec) for name, spec in settings["files"].items()}
    for path in configfiles:
        section = (yaml.safe_load(Path(path).read_text()) or {}).get("download", {})
        settings["dest"] = section.get("dest", settings["dest"])
        for name, spec in section.get("files", {}).items():
            files[name] = {**files.get(name, {}), **spec}
    return {"dest": dest or settings["dest"], "files": files}


def cmd_download(args) -> int:
    """Download the files of the download section; print what to pin."""
    from midi_genres.sources.download import download_all, pin_text

    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    try:
        results = download_all(download_settings(args.configfile, args.dest), args.names or None, args.retries)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USER_ERROR
    pins = pin_text(results)
    if pins:
        print("Not pinned yet: to have later downloads checked, add to your config file:\n" + pins)
    return 0


COMMANDS = {"list": cmd_list, "generate": cmd_generate, "score": cmd_score, "info": cmd_info,
            "download": cmd_download}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    warnings = logging.StreamHandler(sys.stderr)
    warnings.setLevel(logging.WARNING)
    warnings.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
    logging.getLogger("midi_genres").addHandler(warnings)

    from midi_genres.api import PlayError
    from midi_genres.core.midi import MidiReadError
    from midi_genres.model.checkpoint import CheckpointError
    from midi_genres.present.audio import AudioToolMissing

    try:
        return COMMANDS[args.command](args)
    except (PlayError, MidiReadError, CheckpointError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USER_ERROR
    except (AudioToolMissing, RuntimeError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
