"""Rule evaluate_model: one genre's checkpoint -> its bits per token / note / second on every genre's held-out data."""

from midi_genres.analysis.likelihood import evaluate_model
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
evaluate_model(checkpoint_path=inp.checkpoint, model_genre=snakemake.wildcards.genre, genres=p.genres,
               val_paths=inp.val, stats_paths=inp.stats, tempos=p.tempos, table_path=snakemake.output.table,
               threads=snakemake.threads, tokenizer=p.tokenizer)
