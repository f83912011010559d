# Stage 6: what each model learned, measured. Held-out likelihood of every model on every genre (the cross-genre
# matrix), a batch of samples per model compared with its corpus (musical statistics), memorisation and grammar.


rule evaluate_model:
    input:
        checkpoint=R("checkpoints/{genre}.pt"),
        val=expand(T("{data}.val.npy"), data=GENRES),
        stats=expand(T("{data}.stats.json"), data=GENRES),
    output:
        table=R("eval/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        tempos={g: source(g)["tempo"] for g in GENRES},
    log:
        "logs/evaluate_model/{genre}.log",
    benchmark:
        "logs/evaluate_model/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/evaluate_model.py"


rule aggregate_cross_genre:
    input:
        tables=expand(R("eval/{genre}.tsv"), genre=GENRES),
    output:
        matrix=R("cross_genre.tsv"),
        figure=R("cross_genre.png"),
    params:
        genres=GENRES,
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_cross_genre/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_cross_genre.py"


rule sample_batch:
    input:
        checkpoint=R("checkpoints/{genre}.pt"),
    output:
        tokens=R("samples_batch/{genre}.npy"),
        table=R("samples_batch/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=lambda wc: source(wc.genre)["tempo"],
        n_samples=config["metrics"]["samples"],
    log:
        "logs/sample_batch/{genre}.log",
    benchmark:
        "logs/sample_batch/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/sample_batch.py"


rule musical_metrics:
    input:
        train=T("{genre}.npy"),
        samples=R("samples_batch/{genre}.npy"),
    output:
        table=R("metrics/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        drums=lambda wc: is_drums(wc.genre),
        corpus_pieces=config["metrics"]["corpus_pieces"],
    log:
        "logs/musical_metrics/{genre}.log",
    benchmark:
        "logs/musical_metrics/{genre}.benchmark.tsv"
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/musical_metrics.py"


rule memorisation:
    input:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
        samples=R("samples_batch/{genre}.npy"),
    output:
        table=R("memorisation/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
    log:
        "logs/memorisation/{genre}.log",
    benchmark:
        "logs/memorisation/{genre}.benchmark.tsv"
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/memorisation.py"


rule aggregate_metrics:
    input:
        tables=expand(R("metrics/{genre}.tsv"), genre=GENRES),
    output:
        table=R("metrics.tsv"),
        figure=R("metrics.png"),
    params:
        genres=GENRES,
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_metrics/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_metrics.py"
