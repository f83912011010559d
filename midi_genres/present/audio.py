"""Listening to the music: MIDI -> audio with FluidSynth and a General MIDI soundfont, then a compressed file.

FluidSynth renders a WAV (a drum track on MIDI channel 10 plays the soundfont's drum kit), a real encoder
compresses it (``oggenc``, ``lame`` or ``flac``), and the result appears atomically. A missing program or
soundfont is an error that names the Debian package to install, never a silent or empty file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from midi_genres.core.atomic import atomic_path
from midi_genres.core.defaults import defaults
from midi_genres.core.midi import read_midi, write_midi
from midi_genres.core.notes import Note, seconds_to_steps
from midi_genres.core.tables import read_table

log = logging.getLogger(__name__)

_DEFAULTS = defaults("audio")
DEFAULT_SOUNDFONT = _DEFAULTS["soundfont"]
SYNTH = ("fluidsynth", "fluidsynth")  # (program, Debian package)
SOUNDFONT_PACKAGE = "fluid-soundfont-gm"
CLIPPED_WARNING = 0.001  # share of samples at full scale above which the log suggests a lower gain
FULL_SCALE = 32767
TARGET_PEAK = 0.89  # -1 dBFS: every rendering is peak-normalised, so genres play at comparable levels


@dataclass(frozen=True)
class Encoder:
    """How one output format is made from a WAV: the program, its Debian package and its arguments."""

    program: str | None  # None: the WAV itself is the output
    package: str | None
    args: tuple[str, ...] = ()  # ``{wav}``, ``{out}`` and ``{bitrate}`` are filled in

    def command(self, wav: Path, out: Path, bitrate: int) -> list[str]:
        """The encoder's command line."""
        return [self.program, *(a.format(wav=wav, out=out, bitrate=bitrate) for a in self.args)]


ENCODERS = {
    "ogg": Encoder("oggenc", "vorbis-tools", ("-Q", "-s", "1", "-b", "{bitrate}", "-o", "{out}", "{wav}")),  # -s: a
    # fixed stream serial number (oggenc draws one at random), so the same music gives the same bytes
    "mp3": Encoder("lame", "lame", ("--quiet", "--abr", "{bitrate}", "{wav}", "{out}")),
    "flac": Encoder("flac", "flac", ("--silent", "--force", "--best", "-o", "{out}", "{wav}")),
    "wav": Encoder(None, None),
}
MIME_TYPES = {"ogg": "audio/ogg", "mp3": "audio/mpeg", "flac": "audio/flac", "wav": "audio/wav"}


class AudioToolMissing(RuntimeError):
    """FluidSynth, an encoder or the soundfont is not installed; the message says what to install."""


@dataclass(frozen=True)
class AudioConfig:
    """How MIDI becomes audio (the config's ``audio`` section without ``enabled``/``training_pieces``)."""

    soundfont: str = DEFAULT_SOUNDFONT
    format: str = _DEFAULTS["format"]
    bitrate: int = _DEFAULTS["bitrate"]  # kbit/s, lossy formats only
    gain: float = _DEFAULTS["gain"]  # FluidSynth master gain (headroom: the result is peak-normalised afterwards)
    sample_rate: int = _DEFAULTS["sample_rate"]

    def __post_init__(self):
        if self.format not in ENCODERS:
            raise ValueError(f"audio format {self.format!r} is not one of {sorted(ENCODERS)}")

    @classmethod
    def from_params(cls, params: dict) -> AudioConfig:
        """An ``AudioConfig`` from the config's ``audio`` section (other keys are ignored)."""
        return cls(**{k: params[k] for k in cls.__dataclass_fields__ if k in params})


@dataclass(frozen=True)
class WavStats:
    """Length and loudness of a rendered WAV."""

    seconds: float
    peak: float  # largest absolute sample, as a fraction of full scale
    clipped: float  # share of samples at full scale


def require_program(program: str, package: str) -> str:
    """Full path of ``program``, or ``AudioToolMissing`` naming the Debian package that provides it."""
    path = shutil.which(program)
    if path is None:
        raise AudioToolMissing(f"`{program}` is not installed (not on PATH): install it, e.g. "
                               f"`sudo apt-get install {package}`, or turn audio off with `audio: {{enabled: false}}`")
    return path


def check_soundfont(path: str | os.PathLike) -> Path:
    """The soundfont's path if it is a readable SoundFont (RIFF ``sfbk``) file, else ``AudioToolMissing``."""
    path = Path(path)
    hint = (f"install a General MIDI soundfont, e.g. `sudo apt-get install {SOUNDFONT_PACKAGE}` "
            f"(gives {DEFAULT_SOUNDFONT}), or point `audio.soundfont` at one")
    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
    except OSError as exc:
        raise AudioToolMissing(f"soundfont {path} cannot be read ({exc.strerror or exc}): {hint}") from exc
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise AudioToolMissing(f"{path} is not a SoundFont (.sf2) file: {hint}")
    return path


def missing_tools(cfg: AudioConfig | dict | None = None) -> list[str]:
    """What is missing to render audio with ``cfg`` (defaults: ``AudioConfig()``), one message each; empty if none."""
    if not isinstance(cfg, AudioConfig):
        cfg = AudioConfig.from_params(cfg or {})
    encoder = ENCODERS[cfg.format]
    checks = [lambda: require_program(*SYNTH), lambda: check_soundfont(cfg.soundfont)]
    if encoder.program:
        checks.append(lambda: require_program(encoder.program, encoder.package))
    missing = []
    for check in checks:
        try:
            check()
        except AudioToolMissing as exc:
            missing.append(str(exc))
    return missing


def _read_pcm16(path: str | os.PathLike):
    import numpy as np

    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        params = w.getparams()
        samples = np.frombuffer(w.readframes(params.nframes), dtype="<i2")
    return samples, params


def wav_stats(path: str | os.PathLike) -> WavStats:
    """Length, peak and clipped share of a 16-bit PCM WAV file."""
    import numpy as np

    samples, params = _read_pcm16(path)
    if samples.size == 0:
        return WavStats(0.0, 0.0, 0.0)
    magnitude = np.abs(samples.astype(np.int32))
    return WavStats(seconds=params.nframes / params.framerate, peak=float(magnitude.max()) / FULL_SCALE,
                    clipped=float(np.mean(magnitude >= FULL_SCALE)))


def normalize_wav(path: str | os.PathLike, peak: float = TARGET_PEAK) -> WavStats:
    """Scale a 16-bit WAV in place so that its loudest sample is ``peak`` of full scale (silence stays silent)."""
    import numpy as np

    samples, params = _read_pcm16(path)
    current = int(np.abs(samples.astype(np.int32)).max(initial=0))
    if current:
        scaled = np.clip(np.round(samples * (peak * FULL_SCALE / current)), -FULL_SCALE, FULL_SCALE)
        with wave.open(str(path), "wb") as w:
            w.setparams(params)
            w.writeframes(scaled.astype("<i2").tobytes())
    return wav_stats(path)


def _run(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if output:
        log.info("%s says: %s", what, output[-2000:])
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(map(str, command))}\n{output[-2000:]}")


def render_wav(midi_path: str | os.PathLike, wav_path: str | os.PathLike, cfg: AudioConfig) -> WavStats:
    """Render a MIDI file to a 16-bit stereo WAV with FluidSynth (offline, faster than real time)."""
    synth = require_program(*SYNTH)
    soundfont = check_soundfont(cfg.soundfont)
    # Options first, then the soundfont, then the MIDI file; -F renders the whole file to disk and exits.
    _run([synth, "-n", "-i", "-q", "-g", str(cfg.gain), "-r", str(cfg.sample_rate), "-T", "wav", "-O", "s16",
          "-F", str(wav_path), str(soundfont), str(midi_path)], "fluidsynth")
    if not Path(wav_path).is_file() or Path(wav_path).stat().st_size == 0:
        raise RuntimeError(f"fluidsynth wrote no audio for {midi_path}")
    return wav_stats(wav_path)


def render_midi(midi_path: str | os.PathLike, out_path: str | os.PathLike, cfg: AudioConfig | dict) -> WavStats:
    """The render_sample_audio rule: a MIDI file -> compressed audio at ``out_path`` (format from ``cfg``), atomically.

    The rendering is peak-normalised to ``TARGET_PEAK`` before encoding, so every genre plays at a similar level.

    Raises ``AudioToolMissing`` before any work when FluidSynth, the encoder or the soundfont is missing, and
    ``RuntimeError`` when a MIDI file with notes renders as silence.
    """
    if isinstance(cfg, dict):
        cfg = AudioConfig.from_params(cfg)
    missing = missing_tools(cfg)
    if missing:
        raise AudioToolMissing("cannot render audio: " + "; ".join(missing))
    encoder = ENCODERS[cfg.format]
    notes = len(read_midi(midi_path))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="render_audio.") as tmp:
        wav = Path(tmp) / "audio.wav"
        stats = render_wav(midi_path, wav, cfg)
        if notes and stats.peak == 0:
            raise RuntimeError(f"{midi_path} has {notes} notes but rendered as silence with {cfg.soundfont}")
        if stats.clipped > CLIPPED_WARNING:
            log.warning("%.2f%% of the samples clip: lower audio.gain (now %g)", 100 * stats.clipped, cfg.gain)
        if notes:
            log.info("rendered %.1f s, peak %.3f, normalised to %.2f", stats.seconds, stats.peak, TARGET_PEAK)
            stats = normalize_wav(wav)
        encoded = wav
        if encoder.program:
            encoded = Path(tmp) / f"audio.{cfg.format}"
            _run(encoder.command(wav, encoded, cfg.bitrate), encoder.program)
        with atomic_path(out_path) as final:
            shutil.copyfile(encoded, final)
    size = Path(out_path).stat().st_size
    log.info("%s: %d notes -> %.1f s of audio, peak %.2f, %s %d kB (%.0f kbit/s), %.1f s to render", midi_path, notes,
             stats.seconds, stats.peak, cfg.format, size // 1024, 8 * size / 1000 / max(stats.seconds, 1e-9),
             time.perf_counter() - started)
    return stats


def first_seconds(notes: list[Note], seconds: float, tempo_bpm: float) -> list[Note]:
    """The notes of the first ``seconds`` at ``tempo_bpm``, cut at that time."""
    limit = seconds_to_steps(seconds, tempo_bpm)
    return [Note(n.pitch, n.start, min(n.end, limit)) for n in notes if n.start < limit]


def render_training_audio(*, midi_dir: str | os.PathLike, manifest_path: str | os.PathLike, out_dir: str | os.PathLike,
                          pieces: int, tempo_bpm: float, seconds: float, cfg: AudioConfig | dict,
                          drums: bool = False) -> list[str]:
    """The render_training_piece_audio rule: the first ``seconds`` of the first ``pieces`` kept training pieces, played
    at the genre's tempo, as audio files ``NN_<piece>.<format>`` in ``out_dir`` (a directory written atomically).

    Returns the file names, in manifest order.
    """
    if isinstance(cfg, dict):
        cfg = AudioConfig.from_params(cfg)
    rows = [r for r in read_table(manifest_path) if r["status"] == "ok"][:pieces]
    names = []
    with atomic_path(out_dir, directory=True) as tmp_dir, tempfile.TemporaryDirectory(prefix="excerpt.") as scratch:
        for i, row in enumerate(rows, 1):
            excerpt = Path(scratch) / row["file"]
            write_midi(excerpt, first_seconds(read_midi(Path(midi_dir) / row["file"]), seconds, tempo_bpm), tempo_bpm,
                       drums=drums)
            name = f"{i:02d}_{Path(row['file']).stem}.{cfg.format}"
            render_midi(excerpt, Path(tmp_dir) / name, cfg)
            names.append(name)
            log.info("training piece %d/%d: %s -> %s", i, len(rows), row["piece_id"], name)
    return names
