# Open end: this run against other finished runs (config compare_with), e.g. REMI tokens against event tokens.


rule compare_runs:
    input:
        summaries=[os.path.join(d, "summary.tsv") for d in compared_runs()] + [R("summary.tsv")],
    output:
        table=R("compare_runs.tsv"),
        figure=R("compare_runs.png"),
    params:
        labels=compared_runs() + [RESULTS],
    log:
        "logs/compare_runs/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/compare_runs.py"
