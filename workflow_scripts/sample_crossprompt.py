"""Rule sample_crossprompt: model A continues the first bars of a held-out piece of genre B, several times."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.crossprompt import continue_prompt

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
continue_prompt(checkpoint_path=inp.checkpoint, prompt_genre=snakemake.wildcards.prompt, prompt_val_path=inp.prompt_val,
                tokens_path=out.tokens, midi_path=out.midi, prompt_path=out.prompt, bars=p.bars, samples=p.samples,
                sample_params=p.sample, tempo_bpm=p.tempo, drums=p.drums, threads=snakemake.threads,
                tokenizer=p.tokenizer)
