# midi-genres: the whole experiment as a Snakemake workflow.
# extract_corpus / synthesize -> tokenize -> train -> sample -> render_pianoroll -> aggregate_comparison

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/tokenize.smk"
include: "rules/train.smk"
include: "rules/sample.smk"
include: "rules/crossprompt.smk"
include: "rules/plots.smk"
include: "rules/gallery.smk"
include: "rules/analysis.smk"
include: "rules/conditional.smk"  # after the rules it reuses (train, sample, render_pianoroll)
include: "rules/compare_runs.smk"


rule all:
    input:
        all_outputs(),
        open_end_outputs(),
    default_target: True
