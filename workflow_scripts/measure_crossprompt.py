"""Rule measure_crossprompt: the continuations of crossprompt_sample measured against both genres' corpora."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.crossprompt import measure_continuations

log_to_file(snakemake.log[0])
inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
measure_continuations(model=wc.model, prompt=wc.prompt, tokens_path=inp.tokens, prompt_val_path=inp.prompt_val,
                      model_train_path=inp.model_train, prompt_train_path=inp.prompt_train,
                      table_path=snakemake.output.table, bars=p.bars, corpus_pieces=p.corpus_pieces, drums=p.drums,
                      tokenizer=p.tokenizer)
