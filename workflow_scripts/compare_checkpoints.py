"""Rule compare_checkpoints: every genre's last and best-dev checkpoints on its held-out pieces, and the steps
chosen."""

from midi_genres.analysis.selection import compare_checkpoints
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
p = snakemake.params
compare_checkpoints(genres=p.genres, selected=p.selected, last_pieces=p.last_pieces, best_pieces=p.best_pieces,
                    histories=p.histories, table_path=snakemake.output.table)
