"""Rule tokenize: data/midi/{genre}/ -> training and validation token streams + statistics."""

from midi_genres.dataset import tokenize_genre
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out = snakemake.input, snakemake.output
tokenize_genre(inp.midi, inp.manifest, snakemake.params.val_fraction, out.train, out.val, out.stats,
               tokenizer=snakemake.params.tokenizer)
