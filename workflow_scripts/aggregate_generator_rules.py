"""Rule aggregate_generator_rules: every synthetic genre's rule table and the window table -> results/rules.tsv (each
rule beside the bars the context holds) + the heatmap."""

from midi_genres.analysis.synth_rules import aggregate_rules
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
out = snakemake.output
aggregate_rules(titles=snakemake.params.titles, table_paths=snakemake.input.tables, table_path=out.table,
                figure_path=out.figure, window_path=snakemake.input.window, tokenizer=snakemake.params.tokenizer)
