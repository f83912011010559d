# What each model learned, measured, for every seeded model ({rep}): held-out likelihood of every model on every
# genre (the cross-genre matrix, with intervals), the n-gram floor, a batch of samples per model compared with its
# corpus (musical statistics), memorisation and grammar.


rule evaluate_model:
    input:
        checkpoint=R("checkpoints/{genre}{rep}.pt"),
        val=expand(T("{data}.val.npy"), data=GENRES),
        pieces=expand(T("{data}.pieces.tsv"), data=GENRES),
    output:
        table=R("eval/{genre}{rep}.tsv"),
        pieces=R("eval/{genre}{rep}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        tempos={g: source(g)["tempo"] for g in GENRES},
    log:
        "logs/evaluate_model/{genre}{rep}.log",
    benchmark:
        "logs/evaluate_model/{genre}{rep}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/evaluate_model.py"


rule ngram_floor:
    input:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
        pieces=T("{genre}.pieces.tsv"),
    output:
        table=R("ngram/{genre}.tsv"),
        pieces=R("ngram/{genre}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        order=config["metrics"]["ngram_order"],
        max_tokens=config["metrics"]["ngram_max_tokens"],
        tempo=lambda wc: source(wc.genre)["tempo"],
    log:
        "logs/ngram_floor/{genre}.log",
    benchmark:
        "logs/ngram_floor/{genre}.benchmark.tsv"
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/ngram_floor.py"


rule aggregate_cross_genre:
    input:
        pieces=each_model(R("eval/{genre}{rep}.pieces.tsv")),
    output:
        matrix=R("cross_genre.tsv"),
        cells=R("cross_genre_cells.tsv"),
        figure=R("cross_genre.png"),
    params:
        genres=GENRES,
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_cross_genre/all.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_cross_genre.py"


rule sample_batch:
    input:
        checkpoint=R("checkpoints/{genre}{rep}.pt"),
    output:
        tokens=R("samples_batch/{genre}{rep}.npy"),
        table=R("samples_batch/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=lambda wc: source(wc.genre)["tempo"],
        n_samples=config["metrics"]["samples"],
    log:
        "logs/sample_batch/{genre}{rep}.log",
    benchmark:
        "logs/sample_batch/{genre}{rep}.benchmark.tsv"
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
        samples=R("samples_batch/{genre}{rep}.npy"),
    output:
        table=R("metrics/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        drums=lambda wc: is_drums(wc.genre),
        corpus_pieces=config["metrics"]["corpus_pieces"],
    log:
        "logs/musical_metrics/{genre}{rep}.log",
    benchmark:
        "logs/musical_metrics/{genre}{rep}.benchmark.tsv"
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
        samples=R("samples_batch/{genre}{rep}.npy"),
    output:
        table=R("memorisation/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
    log:
        "logs/memorisation/{genre}{rep}.log",
    benchmark:
        "logs/memorisation/{genre}{rep}.benchmark.tsv"
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
