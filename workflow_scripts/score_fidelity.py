"""Rule score_fidelity: one genre's model on every genre's samples, the continuations and the conditional samples."""

from midi_genres.analysis.fidelity import score_fidelity
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
crossprompt = {pair: (tokens, prompt) for pair, tokens, prompt in zip(p.pairs, inp.crossprompt, inp.prompts)}
score_fidelity(checkpoint_path=inp.checkpoint, model_genre=snakemake.wildcards.genre,
               samples=dict(zip(p.genres, inp.samples)),
               crossprompt=crossprompt,
               conditional=dict(zip(p.genres, inp.conditional)), table_path=snakemake.output.table,
               threads=snakemake.threads, tokenizer=p.tokenizer)
