# Stage 5: what each model learned, as pictures and one table.


rule render_pianoroll:
    input:
        midi=R("samples/{genre}.mid"),
    output:
        png=report(
            R("pianorolls/{genre}.png"),
            caption="../report/pianoroll.rst",
            category="Samples",
            subcategory="Piano rolls",
            labels=report_labels("piano roll"),
        ),
    params:
        title=lambda wc: f"{source(wc.genre).get('title', wc.genre)}: sample",
        tempo=lambda wc: source(wc.genre)["tempo"],
        drums=lambda wc: is_drums(wc.genre),
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
    log:
        "logs/render_pianoroll/{genre}.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_pianoroll.py"


rule render_comparison:
    input:
        samples=expand(R("samples/{genre}.mid"), genre=GENRES),
    output:
        figure=report(R("comparison.png"), caption="../report/comparison.rst", category="Comparison"),
    params:
        genres=GENRES,
        sources={g: source(g) for g in GENRES},
        drums={g: is_drums(g) for g in GENRES},
        seconds=config["sample"]["seconds"],
    log:
        "logs/render_comparison/all.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_comparison.py"


rule summarise_run:
    input:
        samples=expand(R("samples/{genre}.mid"), genre=GENRES),
        stats=expand(T("{genre}.stats.json"), genre=GENRES),
        histories=expand(R("train/{genre}.tsv"), genre=GENRES),
        eval_pieces=each_model(R("eval/{genre}{rep}.pieces.tsv")),
        ngram_pieces=expand(R("ngram/{genre}.pieces.tsv"), genre=GENRES),
        metrics=each_model(R("metrics/{genre}{rep}.tsv")),
        memorisation=each_model(R("memorisation/{genre}{rep}.tsv")),
        batches=each_model(R("samples_batch/{genre}{rep}.tsv")),
        fidelity=R("fidelity.tsv"),
    output:
        summary=report(R("summary.tsv"), caption="../report/summary.rst", category="Comparison"),
    params:
        genres=GENRES,
        sources={g: source(g) for g in GENRES},
        metrics={g: each_model(R("metrics/{genre}{rep}.tsv"), [g]) for g in GENRES},
        memorisation={g: each_model(R("memorisation/{genre}{rep}.tsv"), [g]) for g in GENRES},
        batches={g: each_model(R("samples_batch/{genre}{rep}.tsv"), [g]) for g in GENRES},
        memorised_share=config["metrics"]["memorised_share"],
    log:
        "logs/summarise_run/all.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/summarise_run.py"
