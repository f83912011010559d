# midi-genres: the whole experiment as a Snakemake workflow.
# sources (extract_corpus / synthesize / import_midi_dir) -> tokenize -> train -> sample, evaluate -> figures, tables

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "midi_genres/core/config.schema.yaml")  # fills every key left out with its default


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
include: "rules/learned.smk"
include: "rules/conditional.smk"  # after the rules it reuses (train, sample, render_pianoroll)
include: "rules/compare_runs.smk"


onsuccess:
    release_scheduler_timers()


onerror:
    release_scheduler_timers()


rule all:
    input:
        all_outputs(),
        open_end_outputs(),
    default_target: True
