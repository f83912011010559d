"""Rule memorisation: each sample and each held-out piece against the training set (copied n-grams, spans)."""

from midi_genres.analysis.memorisation import memorisation
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp = snakemake.input
memorisation(genre=snakemake.wildcards.genre, train_path=inp.train, val_path=inp.val, samples_path=inp.samples,
             table_path=snakemake.output.table, tokenizer=snakemake.params.tokenizer)
