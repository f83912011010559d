"""Rule render_sample_audio: a sample MIDI file -> compressed audio (FluidSynth + General MIDI soundfont + encoder)."""

from midi_genres.core.joblog import log_to_file
from midi_genres.present.audio import render_midi

log_to_file(snakemake.log[0])
render_midi(snakemake.input.midi, snakemake.output.audio, snakemake.params.audio)
