"""Rule export_web_model: a genre's checkpoint (first seed) -> its weights as a script for the gallery page."""

from midi_genres.core.joblog import log_to_file
from midi_genres.model.export import export_web_model

log_to_file(snakemake.log[0])
p = snakemake.params
export_web_model(checkpoint_path=snakemake.input.checkpoint, out_path=snakemake.output.script,
                 genre=snakemake.wildcards.genre, title=p.title, tokenizer=p.tokenizer, tempo_bpm=p.tempo,
                 drums=p.drums)
