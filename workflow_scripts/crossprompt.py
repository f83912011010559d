"""Rule crossprompt: model A continues the first bars of a held-out piece of genre B; measured against both corpora."""

from midi_genres.crossprompt import crossprompt
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
crossprompt(inp.checkpoint, wc.model, wc.prompt, inp.prompt_val, inp.model_train, inp.prompt_train, out.midi, out.png,
            out.table, p.bars, p.samples, p.sample, p.tempo, p.drums, p.corpus_pieces, p.title,
            threads=snakemake.threads, tokenizer=p.tokenizer)
