"""Rule render_audio: a sample MIDI file -> compressed audio (FluidSynth + General MIDI soundfont + encoder)."""

from midi_genres.audio import render_midi
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
render_midi(snakemake.input.midi, snakemake.output.audio, snakemake.params.audio)
