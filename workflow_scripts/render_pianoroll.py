"""Rule render_pianoroll: a sample MIDI file -> its piano roll (first seconds)."""

from midi_genres.joblog import log_to_file
from midi_genres.notes import read_midi
from midi_genres.plots import render_pianoroll

log_to_file(snakemake.log[0])
p = snakemake.params
render_pianoroll(read_midi(snakemake.input.midi), snakemake.output.png, p.tempo, p.title, seconds=p.seconds,
                 drums=p.drums)
