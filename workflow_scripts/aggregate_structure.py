"""Rule aggregate_structure: every genre's structure tables -> results/structure.tsv (with intervals) + the figure."""

from midi_genres.analysis.structure import aggregate_structure
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p, out = snakemake.input, snakemake.params, snakemake.output
aggregate_structure(genres=p.genres, titles=p.titles, tables=p.tables, window_paths=inp.windows,
                    tokenizer=p.tokenizer, table_path=out.table, figure_path=out.figure)
