# Stage 6: what each model learned, measured. Held-out likelihood of every model on every genre (the cross-genre
# matrix), a batch of samples per model compared with its corpus (musical statistics), memorisation and grammar.


rule evaluate_model:
    input:
        checkpoint="results/checkpoints/{genre}.pt",
        val=expand("data/tokens/{data}.val.npy", data=GENRES),
        stats=expand("data/tokens/{data}.stats.json", data=GENRES),
    output:
        table="results/eval/{genre}.tsv",
    params:
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
        tables=expand("results/eval/{genre}.tsv", genre=GENRES),
    output:
        matrix="results/cross_genre.tsv",
        figure="results/cross_genre.png",
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
        checkpoint="results/checkpoints/{genre}.pt",
    output:
        tokens="results/samples_batch/{genre}.npy",
        table="results/samples_batch/{genre}.tsv",
    params:
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
        train="data/tokens/{genre}.npy",
        samples="results/samples_batch/{genre}.npy",
    output:
        table="results/metrics/{genre}.tsv",
    params:
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
        train="data/tokens/{genre}.npy",
        val="data/tokens/{genre}.val.npy",
        samples="results/samples_batch/{genre}.npy",
    output:
        table="results/memorisation/{genre}.tsv",
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
        tables=expand("results/metrics/{genre}.tsv", genre=GENRES),
    output:
        table="results/metrics.tsv",
        figure="results/metrics.png",
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
