# midi-genres: the whole experiment as a Snakemake workflow.
# sources (extract_corpus / synthesize / import_midi_dir) -> tokenize -> train -> sample, evaluate -> figures, tables

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "midi_genres/core/config.schema.yaml")  # fills every key left out with its default


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/sources.smk"
include: "rules/tokens.smk"
include: "rules/model.smk"
include: "rules/sampling.smk"
include: "rules/analysis.smk"
include: "rules/experiments.smk"
include: "rules/presentation.smk"


rule all:
    input:
        all_outputs(),
        open_end_outputs(),
    default_target: True
