# Stage: analysis. What each model learned, measured for every seeded model ({rep}): held-out likelihood of
# every model (every fold {fold} and kept checkpoint {ckpt}) on every genre (the cross-genre matrix, with
# intervals over tune families), the n-gram floor, the sample batches
# against their corpus (musical statistics, memorisation), the models as a classifier, the synthetic
# generators' rules, and the summary table.


# Fold k's model scores fold k's held-out pieces of every genre: its own genre's pieces it never saw the family
# of, and, over the folds, every piece of the other genres once.
rule evaluate_model:
    input:
        checkpoint=R("checkpoints/{genre}{fold}{rep}{ckpt}.pt"),
        val=lambda wc: expand(T("{data}{fold}.val.npy"), data=GENRES, fold=wc.fold),
        pieces=lambda wc: expand(T("{data}{fold}.pieces.tsv"), data=GENRES, fold=wc.fold),
    output:
        table=R("eval/{genre}{fold}{rep}{ckpt}.tsv"),
        pieces=R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        tempos={g: source(g)["tempo"] for g in GENRES},
    log:
        L("evaluate_model/{genre}{fold}{rep}{ckpt}.log"),
    benchmark:
        L("evaluate_model/{genre}{fold}{rep}{ckpt}.benchmark.tsv")
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
        train=T("{genre}{fold}.npy"),
        val=T("{genre}{fold}.val.npy"),
        pieces=T("{genre}{fold}.pieces.tsv"),
    output:
        table=R("ngram/{genre}{fold}.tsv"),
        pieces=R("ngram/{genre}{fold}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        order=config["metrics"]["ngram_order"],
        max_tokens=config["metrics"]["ngram_max_tokens"],
        tempo=tempo_of("genre"),
    log:
        L("ngram_floor/{genre}{fold}.log"),
    benchmark:
        L("ngram_floor/{genre}{fold}.benchmark.tsv")
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/ngram_floor.py"


# The IDyOM-style floor beside the n-gram floor: a long-term PPM* model of the training tokens and a short-term
# one of each held-out piece as it is read, mixed by entropy (analysis/ppm.py), on the same pieces and targets.
rule ppm_floor:
    input:
        train=T("{genre}{fold}.npy"),
        val=T("{genre}{fold}.val.npy"),
        pieces=T("{genre}{fold}.pieces.tsv"),
    output:
        table=R("ppm/{genre}{fold}.tsv"),
        pieces=R("ppm/{genre}{fold}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        max_order=config["metrics"]["ppm_max_order"],
        bias=config["metrics"]["ppm_bias"],
        max_tokens=config["metrics"]["ngram_max_tokens"],
        tempo=tempo_of("genre"),
    log:
        L("ppm_floor/{genre}{fold}.log"),
    benchmark:
        L("ppm_floor/{genre}{fold}.benchmark.tsv")
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/ppm_floor.py"


rule aggregate_cross_genre:
    input:
        pieces=each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv")),
    output:
        matrix=R("cross_genre.tsv"),
        cells=R("cross_genre_cells.tsv"),
        figure=R("cross_genre.png"),
    params:
        genres=GENRES,
        titles=genre_titles(),
    log:
        L("aggregate_cross_genre/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_cross_genre.py"


rule musical_metrics:
    input:
        train=T("{genre}.npy"),
        samples=R("samples_batch/{genre}{rep}.npy"),
    output:
        table=R("metrics/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        drums=drums_of("genre"),
        corpus_pieces=config["metrics"]["corpus_pieces"],
    log:
        L("musical_metrics/{genre}{rep}.log"),
    benchmark:
        L("musical_metrics/{genre}{rep}.benchmark.tsv")
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
        L("memorisation/{genre}{rep}.log"),
    benchmark:
        L("memorisation/{genre}{rep}.benchmark.tsv")
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
        titles=genre_titles(),
    log:
        L("aggregate_metrics/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_metrics.py"


rule score_fidelity:
    input:
        checkpoint=selected_checkpoint("{genre}"),
        samples=expand(R("samples_batch/{data}.npy"), data=GENRES),
        crossprompt=[R(f"crossprompt/{m}__from__{p}.npy") for m, p in crossprompt_pairs()],
        prompts=[R(f"crossprompt/{m}__from__{p}.prompt.json") for m, p in crossprompt_pairs()],
        conditional=conditional_samples(),
    output:
        table=R("fidelity/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        pairs=[f"{m}<-{p}" for m, p in crossprompt_pairs()],
    log:
        L("score_fidelity/{genre}.log"),
    benchmark:
        L("score_fidelity/{genre}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/score_fidelity.py"


rule aggregate_fidelity:
    input:
        eval_pieces=expand(R("eval/{genre}{ckpt}.pieces.tsv"), genre=GENRES, ckpt=SELECTED),
        scores=expand(R("fidelity/{genre}.tsv"), genre=GENRES),
    output:
        table=R("fidelity.tsv"),
        figure=R("fidelity.png"),
    params:
        genres=GENRES,
        titles=genre_titles(),
    log:
        L("aggregate_fidelity/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_fidelity.py"


rule check_generator_rules:
    input:
        train=T("{genre}.npy"),
        samples=lambda wc: each_model(R("samples_batch/{genre}{rep}.npy"), [wc.genre]),
    output:
        table=R("rules/{genre}.tsv"),
    wildcard_constraints:
        genre=one_of(genres_of_kind("synthetic")),
    params:
        tokenizer=TOKENIZER,
        generator=lambda wc: source(wc.genre)["generator"],
    log:
        L("check_generator_rules/{genre}.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/check_generator_rules.py"


rule aggregate_generator_rules:
    input:
        tables=expand(R("rules/{genre}.tsv"), genre=genres_of_kind("synthetic")),
        window=R("window.tsv"),
    output:
        table=R("rules.tsv"),
        figure=R("rules.png"),
    params:
        titles=genre_titles(),
        tokenizer=TOKENIZER,
    log:
        L("aggregate_generator_rules/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_generator_rules.py"


rule measure_window:
    input:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
        pieces=T("{genre}.pieces.tsv"),
    output:
        table=R("window/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        max_len=config["model"]["max_len"],
    log:
        L("measure_window/{genre}.log"),
    benchmark:
        L("measure_window/{genre}.benchmark.tsv")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/measure_window.py"


rule aggregate_window:
    input:
        tables=expand(R("window/{genre}.tsv"), genre=GENRES),
    output:
        table=R("window.tsv"),
    log:
        L("aggregate_window/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_window.py"


# Held-out pieces (every fold's) and one seeded model's samples: repeated bars and bar similarity by lag.
rule measure_structure:
    input:
        val=lambda wc: each_fold(T("{genre}{fold}.val.npy"), [wc.genre]),
        pieces=lambda wc: each_fold(T("{genre}{fold}.pieces.tsv"), [wc.genre]),
        samples=R("samples_batch/{genre}{rep}.npy"),
    output:
        table=R("structure/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        drums=drums_of("genre"),
        sample_seconds=lambda wc: section("sample", wc.genre)["seconds"],
        tempo=tempo_of("genre"),
    log:
        L("measure_structure/{genre}{rep}.log"),
    benchmark:
        L("measure_structure/{genre}{rep}.benchmark.tsv")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/measure_structure.py"


rule aggregate_structure:
    input:
        tables=each_model(R("structure/{genre}{rep}.tsv")),
        windows=expand(R("window/{genre}.tsv"), genre=GENRES),
    output:
        table=R("structure.tsv"),
        figure=R("structure.png"),
    params:
        genres=GENRES,
        titles=genre_titles(),
        tables={g: each_model(R("structure/{genre}{rep}.tsv"), [g]) for g in GENRES},
        tokenizer=TOKENIZER,
    log:
        L("aggregate_structure/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_structure.py"


rule summarise_run:
    input:
        samples=expand(R("samples/{genre}.mid"), genre=GENRES),
        stats=each_fold(T("{genre}{fold}.stats.json")),
        histories=expand(R("train/{genre}.tsv"), genre=GENRES),
        eval_pieces=each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv")),
        ngram_pieces=each_fold(R("ngram/{genre}{fold}.pieces.tsv")),
        ppm_pieces=each_fold(R("ppm/{genre}{fold}.pieces.tsv")),
        metrics=each_model(R("metrics/{genre}{rep}.tsv")),
        memorisation=each_model(R("memorisation/{genre}{rep}.tsv")),
        batches=each_model(R("samples_batch/{genre}{rep}.tsv")),
        fidelity=R("fidelity.tsv"),
        structure=R("structure.tsv"),
        window=R("window.tsv"),
    output:
        summary=report(R("summary.tsv"), caption="../report/summary.rst", category="Comparison"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        sources=genre_sources(),
        stats={g: each_fold(T("{genre}{fold}.stats.json"), [g]) for g in GENRES},
        selected=SELECT,
        metrics={g: each_model(R("metrics/{genre}{rep}.tsv"), [g]) for g in GENRES},
        memorisation={g: each_model(R("memorisation/{genre}{rep}.tsv"), [g]) for g in GENRES},
        batches={g: each_model(R("samples_batch/{genre}{rep}.tsv"), [g]) for g in GENRES},
        memorised_share=config["metrics"]["memorised_share"],
    log:
        L("summarise_run/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/summarise_run.py"


# Only with a dev set (split.dev_fraction): the last and the best-dev checkpoint of every model on the same
# held-out pieces, and the step each was chosen at.
rule compare_checkpoints:
    input:
        last=each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"), ckpt=""),
        best_dev=each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"), ckpt=".best_dev"),
        histories=each_fold_model(R("train/{genre}{fold}{rep}.tsv")),
    output:
        table=R("checkpoint_choice.tsv"),
    params:
        genres=GENRES,
        selected=SELECT,
        last_pieces={g: each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"), [g], "") for g in GENRES},
        best_pieces={
            g: each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"), [g], ".best_dev") for g in GENRES
        },
        histories={g: each_fold_model(R("train/{genre}{fold}{rep}.tsv"), [g]) for g in GENRES},
    log:
        L("compare_checkpoints/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/compare_checkpoints.py"
