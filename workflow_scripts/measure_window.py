"""Rule measure_window: a genre's token streams -> tokens per bar and the bars the context covers, per tokenizer."""

from midi_genres.analysis.window import measure_window
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
measure_window(genre=snakemake.wildcards.genre, train_path=inp.train, val_path=inp.val, pieces_path=inp.pieces,
               max_len=p.max_len, table_path=snakemake.output.table, tokenizer=p.tokenizer)
