"""Rule render_training_piece_audio: the first training pieces of a genre -> audio excerpts, for comparison."""

from midi_genres.core.joblog import log_to_file
from midi_genres.present.audio import render_training_audio

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
render_training_audio(midi_dir=inp.midi, manifest_path=inp.manifest, out_dir=snakemake.output.audio, pieces=p.pieces,
                      tempo_bpm=p.tempo, seconds=p.seconds, cfg=p.audio, drums=p.drums)
