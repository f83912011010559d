"""Rule aggregate_fidelity: the models as a classifier -> results/fidelity.tsv + the confusion heatmaps."""

from midi_genres.analysis.fidelity import aggregate_fidelity
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
aggregate_fidelity(genres=p.genres, titles=p.titles, eval_pieces=inp.eval_pieces, music_scores=inp.scores,
                   table_path=out.table, figure_path=out.figure)
