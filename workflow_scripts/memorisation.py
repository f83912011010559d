"""Rule memorisation: each sample and each held-out piece against the training set (copied n-grams, spans)."""

from midi_genres.joblog import log_to_file
from midi_genres.memorisation import memorisation

log_to_file(snakemake.log[0])
inp = snakemake.input
memorisation(snakemake.wildcards.genre, inp.train, inp.val, inp.samples, snakemake.output.table,
             tokenizer=snakemake.params.tokenizer)
