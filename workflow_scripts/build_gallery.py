"""Rule build_gallery: every figure, sample, audio file and exported model -> results/index.html and the page's
scripts (results/web/page/)."""

from midi_genres.core.joblog import log_to_file
from midi_genres.present.gallery import build_gallery

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
build_gallery(out_path=snakemake.output.html, genres=p.genres, sources=p.sources, summary_path=inp.summary,
              pianorolls=inp.pianorolls, curves=inp.curves, samples=inp.samples, comparison=inp.comparison,
              training_curves=inp.training_curves, audio=inp.audio, training_audio=inp.training_audio,
              findings=list(zip(inp.findings, p.captions)), web_models=inp.web_models,
              web_assets=snakemake.output.web_page, sample_settings=p.sample_settings)
