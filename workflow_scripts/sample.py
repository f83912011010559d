"""Rule sample (and sample_conditional): checkpoint -> ~30 s of sampled music as MIDI."""

from midi_genres.core.joblog import log_to_file
from midi_genres.model.sample import sample_genre

log_to_file(snakemake.log[0])
p = snakemake.params
sample_genre(checkpoint_path=snakemake.input.checkpoint, midi_path=snakemake.output.midi, sample_params=p.sample,
             tempo_bpm=p.tempo, drums=p.drums, threads=snakemake.threads, extra_tokens=p.get("extra_tokens", ()),
             prompt=p.get("prompt"), tokenizer=p.tokenizer)
