"""Rule sample (and sample_conditional): checkpoint -> ~30 s of sampled music as MIDI."""

from midi_genres.joblog import log_to_file
from midi_genres.sample import sample_genre

log_to_file(snakemake.log[0])
p = snakemake.params
sample_genre(snakemake.input.checkpoint, snakemake.output.midi, p.sample, p.tempo, p.drums,
             threads=snakemake.threads, extra_tokens=p.get("extra_tokens", ()), prompt=p.get("prompt"),
             tokenizer=p.tokenizer)
