"""MIDI -> audio with the real FluidSynth, soundfont and encoders (skipped, with the reason, where not installed)."""

import os
import shutil
import wave

import pytest
from workflow_helpers import planned_jobs, snakemake, tiny_config

from midi_genres.core.midi import write_midi
from midi_genres.core.notes import Note
from midi_genres.present.audio import (
    ENCODERS,
    TARGET_PEAK,
    AudioConfig,
    AudioToolMissing,
    first_seconds,
    missing_tools,
    normalize_wav,
    render_midi,
    render_training_audio,
    render_wav,
    wav_stats,
)
from midi_genres.sources.midi_folder import Piece, Skipped, write_midi_folder

MISSING = missing_tools(AudioConfig(format="wav"))
needs_synth = pytest.mark.skipif(bool(MISSING), reason="; ".join(MISSING) or "ok")
MAGIC = {"ogg": (b"OggS",), "mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"), "flac": (b"fLaC",),
         "wav": (b"RIFF",)}


def melody(n=16, step=2):
    return [Note(60 + (5 * i) % 17, step * i, step * i + step) for i in range(n)]


def write_wav(path, samples, rate=8000):
    import numpy as np

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


@needs_synth
@pytest.mark.parametrize("fmt", sorted(ENCODERS))
def test_each_format_is_a_real_normalised_deterministic_file_of_the_music_and_nothing_else(tmp_path, fmt):
    missing = missing_tools(AudioConfig(format=fmt))
    if missing:
        pytest.skip("; ".join(missing))
    write_midi(tmp_path / "in.mid", melody(), 120)  # 32 sixteenths at 120 bpm = 4 s
    stats = render_midi(tmp_path / "in.mid", tmp_path / f"out.{fmt}", {"format": fmt, "bitrate": 64})
    data = (tmp_path / f"out.{fmt}").read_bytes()
    assert data.startswith(MAGIC[fmt]), data[:8]
    assert 4.0 <= stats.seconds < 4.0 + 5  # the music plus the release/reverb tail
    assert stats.peak == pytest.approx(TARGET_PEAK, abs=0.01) and stats.clipped == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mid", f"out.{fmt}"]
    if fmt in ("ogg", "mp3"):  # compressed: well under a tenth of 16-bit stereo PCM
        assert len(data) < 0.1 * stats.seconds * 44100 * 4
    render_midi(tmp_path / "in.mid", tmp_path / f"again.{fmt}", {"format": fmt, "bitrate": 64})
    assert (tmp_path / f"again.{fmt}").read_bytes() == data  # the same music, the same bytes (ogg: a fixed serial)


@needs_synth
def test_the_drum_channel_plays_the_drum_kit_not_the_piano(tmp_path):
    notes = [Note(36 + (i % 3) * 2, 2 * i, 2 * i + 1) for i in range(16)]  # kick, snare, closed hi-hat
    cfg = AudioConfig(format="wav")
    for drums in (False, True):
        write_midi(tmp_path / f"{drums}.mid", notes, 120, drums=drums)
        render_wav(tmp_path / f"{drums}.mid", tmp_path / f"{drums}.wav", cfg)
    piano, kit = (wave.open(str(tmp_path / f"{d}.wav")).readframes(10**7) for d in (False, True))
    assert piano != kit and wav_stats(tmp_path / "True.wav").peak > 0


@needs_synth
def test_an_empty_piece_renders_as_a_short_silence_not_an_error(tmp_path):
    write_midi(tmp_path / "empty.mid", [], 120)
    stats = render_midi(tmp_path / "empty.mid", tmp_path / "empty.wav", {"format": "wav"})
    assert stats.peak < 0.001 and (tmp_path / "empty.wav").stat().st_size > 0


def test_missing_fluidsynth_is_an_error_naming_the_package_and_writes_nothing(tmp_path, monkeypatch):
    write_midi(tmp_path / "in.mid", melody(), 120)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(AudioToolMissing, match="apt-get install fluidsynth"):
        render_midi(tmp_path / "in.mid", tmp_path / "out.ogg", {})
    assert not (tmp_path / "out.ogg").exists()


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_a_missing_encoder_is_an_error_naming_its_package(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fluidsynth").symlink_to(shutil.which("fluidsynth"))
    monkeypatch.setenv("PATH", str(bin_dir))
    for fmt, package in (("ogg", "vorbis-tools"), ("mp3", "lame"), ("flac", "flac")):
        assert any(f"apt-get install {package}" in m for m in missing_tools({"format": fmt}))


@pytest.mark.parametrize("content", [None, b"not a soundfont at all"])
def test_a_missing_or_bogus_soundfont_is_an_error_naming_the_package(tmp_path, content):
    soundfont = tmp_path / "gm.sf2"
    if content is not None:
        soundfont.write_bytes(content)
    write_midi(tmp_path / "in.mid", melody(), 120)
    with pytest.raises(AudioToolMissing, match="fluid-soundfont-gm"):
        render_midi(tmp_path / "in.mid", tmp_path / "out.ogg", {"soundfont": str(soundfont)})
    assert not (tmp_path / "out.ogg").exists()


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="aiff"):
        AudioConfig(format="aiff")


def test_config_section_keys_that_are_not_rendering_settings_are_ignored():
    cfg = AudioConfig.from_params({"enabled": True, "training_pieces": 3, "format": "mp3", "gain": 0.3})
    assert cfg == AudioConfig(format="mp3", gain=0.3)


def test_normalize_scales_to_the_target_peak_and_keeps_silence_silent(tmp_path):
    write_wav(tmp_path / "a.wav", [0, 1000, -2000, 500])
    stats = normalize_wav(tmp_path / "a.wav", 0.5)
    assert stats.peak == pytest.approx(0.5, abs=1e-4) and stats.seconds == pytest.approx(4 / 8000)
    write_wav(tmp_path / "silent.wav", [0, 0, 0])
    assert normalize_wav(tmp_path / "silent.wav").peak == 0


def test_first_seconds_keeps_and_cuts_notes_at_the_limit():
    notes = [Note(60, 0, 4), Note(62, 6, 12), Note(64, 8, 9), Note(65, 9, 10)]
    assert first_seconds(notes, 1.0, 120) == [Note(60, 0, 4), Note(62, 6, 8)]  # 1 s at 120 bpm = 8 sixteenths


@needs_synth
def test_training_audio_is_the_first_kept_pieces_cut_to_the_sample_length(tmp_path):
    long_piece = [Note(48 + i % 12, 4 * i, 4 * i + 4) for i in range(80)]  # 320 sixteenths = 40 s at 120 bpm
    items = [Skipped("broken", "x", "unreadable"), Piece("first/one", "x", long_piece),
             Piece("second", "x", long_piece[:10]), Piece("third", "x", long_piece)]
    write_midi_folder(items, tmp_path / "midi", tmp_path / "midi.manifest.tsv")
    names = render_training_audio(midi_dir=tmp_path / "midi", manifest_path=tmp_path / "midi.manifest.tsv",
                                  out_dir=tmp_path / "out", pieces=2, tempo_bpm=120, seconds=3.0, cfg={"format": "wav"})
    assert names == ["01_first_one.wav", "02_second.wav"]
    assert sorted(os.listdir(tmp_path / "out")) == names
    for name in names:
        assert 3.0 <= wav_stats(tmp_path / "out" / name).seconds < 3.0 + 5


def test_with_audio_off_no_audio_rule_is_planned_and_the_gallery_still_is(tmp_path):
    cfg = tiny_config()
    cfg["audio"]["enabled"] = False
    jobs = planned_jobs(tmp_path, config=cfg)
    assert "render_sample_audio" not in jobs and "render_training_piece_audio" not in jobs and "build_gallery" in jobs
    cfg["audio"].update(enabled=True, training_pieces=0)
    jobs = planned_jobs(tmp_path, config=cfg)
    assert jobs["render_sample_audio"] == set(cfg["genres"]) and "render_training_piece_audio" not in jobs


def test_audio_auto_leaves_audio_out_saying_what_is_missing(tmp_path):
    cfg = tiny_config()
    cfg["audio"].update(enabled="auto", soundfont=str(tmp_path / "no-such.sf2"))
    proc = snakemake(tmp_path, "-n", config=cfg)
    assert "audio is off for this run" in proc.stderr and "no-such.sf2" in proc.stderr
    assert "rule render_sample_audio:" not in proc.stdout and "rule build_gallery:" in proc.stdout


def test_the_render_audio_job_fails_saying_what_to_install(tmp_path):
    write_midi(tmp_path / "results/samples/bach.mid", melody(), 90)
    cfg = tiny_config()
    cfg["audio"].update(enabled=True, soundfont=str(tmp_path / "no-such.sf2"))
    proc = snakemake(tmp_path, "--cores", "1", "results/audio/bach.ogg", config=cfg, check=False)
    assert proc.returncode != 0
    assert "apt-get install fluid-soundfont-gm" in (tmp_path / "logs/render_sample_audio/bach.log").read_text()
    assert not (tmp_path / "results/audio/bach.ogg").exists()
