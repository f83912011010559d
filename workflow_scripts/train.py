"""Rule train (and train_conditional): token streams -> checkpoint + loss history."""

from midi_genres.joblog import log_to_file
from midi_genres.train import train_genre

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
train_genre(inp.train, inp.val, p.model, p.train, out.checkpoint, out.history, state_path=p.state,
            threads=snakemake.threads, extra_tokens=p.get("extra_tokens", ()), tokenizer=p.tokenizer)
