"""Rule musical_metrics: training pieces vs a model's sample batch, feature by feature (Yang & Lerch 2018)."""

from midi_genres.analysis.features import musical_metrics
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
musical_metrics(genre=snakemake.wildcards.genre, train_path=inp.train, samples_path=inp.samples, drums=p.drums,
                corpus_pieces=p.corpus_pieces, table_path=snakemake.output.table, tokenizer=p.tokenizer)
