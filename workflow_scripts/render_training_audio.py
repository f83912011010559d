"""Rule render_training_audio: the first training pieces of a genre -> audio excerpts, for comparison."""

from midi_genres.audio import render_training_audio
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
render_training_audio(inp.midi, inp.manifest, snakemake.output.audio, p.pieces, p.tempo, p.seconds, p.audio,
                      drums=p.drums)
