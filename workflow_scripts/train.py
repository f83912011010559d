"""Rule train (and train_conditional): token streams -> checkpoint (and the best-dev one) + loss history."""

from midi_genres.core.joblog import log_to_file
from midi_genres.model.train import train_genre

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
train_genre(train_path=inp.train, val_path=inp.val, model_params=p.model, train_params=p.train,
            checkpoint_path=out.checkpoint, history_path=out.history, state_path=p.state, threads=snakemake.threads,
            extra_tokens=p.get("extra_tokens", ()), tokenizer=p.tokenizer, card=p.get("card"),
            stats_path=inp.get("stats"), dev_path=inp.get("dev"), best_dev_checkpoint_path=out.get("best_dev"))
