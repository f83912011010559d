"""Rule build_gallery: every figure, sample and audio file -> results/index.html."""

from midi_genres.gallery import build_gallery
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
build_gallery(snakemake.output.html, p.genres, p.sources, inp.summary, inp.pianorolls, inp.curves, inp.samples,
              inp.comparison, inp.training_curves, audio=inp.audio, training_audio=inp.training_audio)
