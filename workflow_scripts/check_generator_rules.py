"""Rule check_generator_rules: a synthetic genre's generator rules on its training pieces and on its model's samples."""

from midi_genres.analysis.synth_rules import synthetic_rules
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
synthetic_rules(genre=snakemake.wildcards.genre, generator=p.generator, train_path=inp.train,
                samples_paths=inp.samples, table_path=snakemake.output.table, tokenizer=p.tokenizer)
