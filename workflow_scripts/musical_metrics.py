"""Rule musical_metrics: training pieces vs a model's sample batch, feature by feature (Yang & Lerch 2018)."""

from midi_genres.joblog import log_to_file
from midi_genres.metrics import musical_metrics

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
musical_metrics(snakemake.wildcards.genre, inp.train, inp.samples, p.drums, p.corpus_pieces, snakemake.output.table,
                tokenizer=p.tokenizer)
