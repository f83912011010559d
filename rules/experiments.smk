# Stage: experiments, the open ends. Cross-genre prompting (model A continues the first bars of a held-out
# piece of genre B, measured against both corpora); one conditional model of every genre, each piece led by
# its [GENRE_x] token, with the separate models' total budget (only when conditional.enabled; its training
# and sampling reuse the per-genre rules); this run against other finished runs (compare_with).


rule sample_crossprompt:
    input:
        checkpoint=selected_checkpoint("{model}"),
        prompt_val=T("{prompt}.val.npy"),
    output:
        tokens=R("crossprompt/{model}__from__{prompt}.npy"),
        midi=R("crossprompt/{model}__from__{prompt}.mid"),
        prompt=R("crossprompt/{model}__from__{prompt}.prompt.json"),
    wildcard_constraints:
        model=one_of(GENRES),
        prompt=one_of(GENRES),
    params:
        tokenizer=TOKENIZER,
        bars=config["crossprompt"]["bars"],
        samples=config["crossprompt"]["samples"],
        sample=lambda wc: section("sample", wc.model),
        tempo=tempo_of("model"),
        drums=drums_of("model"),
    log:
        L("sample_crossprompt/{model}__from__{prompt}.log"),
    benchmark:
        L("sample_crossprompt/{model}__from__{prompt}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/sample_crossprompt.py"


rule measure_crossprompt:
    input:
        tokens=R("crossprompt/{model}__from__{prompt}.npy"),
        prompt_val=T("{prompt}.val.npy"),
        model_train=T("{model}.npy"),
        prompt_train=T("{prompt}.npy"),
    output:
        table=R("crossprompt/{model}__from__{prompt}.tsv"),
    wildcard_constraints:
        model=one_of(GENRES),
        prompt=one_of(GENRES),
    params:
        tokenizer=TOKENIZER,
        bars=config["crossprompt"]["bars"],
        drums=drums_by_genre("model", "prompt"),
        corpus_pieces=config["metrics"]["corpus_pieces"],
    log:
        L("measure_crossprompt/{model}__from__{prompt}.log"),
    benchmark:
        L("measure_crossprompt/{model}__from__{prompt}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/measure_crossprompt.py"


rule aggregate_crossprompt:
    input:
        tables=[R(f"crossprompt/{m}__from__{p}.tsv") for m, p in crossprompt_pairs()],
    output:
        table=R("crossprompt.tsv"),
        figure=R("crossprompt.png"),
    params:
        pairs=crossprompt_pairs(),
        titles=genre_titles(),
    log:
        L("aggregate_crossprompt/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_crossprompt.py"


rule tag_conditional:
    input:
        train=expand(T("{genre}.npy"), genre=GENRES),
        val=expand(T("{genre}.val.npy"), genre=GENRES),
    output:
        train=T("conditional/all.npy"),
        val=T("conditional/all.val.npy"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
    log:
        "logs/tag_conditional/all.log",
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/tag_conditional.py"


use rule train as train_conditional with:
    input:
        train=T("conditional/all.npy"),
        val=T("conditional/all.val.npy"),
    output:
        checkpoint=R("conditional/checkpoint.pt"),
        history=R("conditional/train.tsv"),
    params:
        tokenizer=TOKENIZER,
        model=config["model"],
        train=conditional_train_section(),
        state=R("train_state/conditional.pt"),
        extra_tokens=genre_tokens(GENRES),
        card={"genre": "conditional", "title": "One conditional model of every genre"},
    log:
        L("train/conditional.log"),
    benchmark:
        L("train/conditional.benchmark.tsv")
    resources:
        mem_mb=2000,
        runtime=60 * len(GENRES),


use rule sample as sample_conditional with:
    input:
        checkpoint=R("conditional/checkpoint.pt"),
    output:
        midi=R("conditional/samples/{genre}.mid"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=tempo_of("genre"),
        drums=drums_of("genre"),
        extra_tokens=genre_tokens(GENRES),
        prompt=lambda wc: ["BOS", genre_token(wc.genre)],
    log:
        L("sample_conditional/{genre}.log"),
    benchmark:
        L("sample_conditional/{genre}.benchmark.tsv")


rule evaluate_conditional:
    input:
        checkpoint=R("conditional/checkpoint.pt"),
        val=expand(T("{genre}.val.npy"), genre=GENRES),
        pieces=expand(T("{genre}.pieces.tsv"), genre=GENRES),
        separate=expand(R("eval/{genre}{ckpt}.tsv"), genre=GENRES, ckpt=SELECTED),
        separate_pieces=expand(R("eval/{genre}{ckpt}.pieces.tsv"), genre=GENRES, ckpt=SELECTED),
    output:
        table=R("conditional/likelihood.tsv"),
        figure=R("conditional/likelihood.png"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        titles=genre_titles(),
    log:
        L("evaluate_conditional/all.log"),
    benchmark:
        L("evaluate_conditional/all.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/evaluate_conditional.py"


rule compare_runs:
    input:
        summaries=[os.path.join(d, "summary.tsv") for d in compared_runs()] + [R("summary.tsv")],
        pieces=each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv")),
    output:
        table=R("compare_runs.tsv"),
        figure=R("compare_runs.png"),
        paired=R("compare_runs_paired.tsv"),
    params:
        labels=compared_runs() + [RESULTS],
    log:
        L("compare_runs/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/compare_runs.py"


# Learning curves (corpus.train_tokens as a list): every other cap than the run's own trains and is scored again,
# each cap its own folders (data/tokens/.../cap{cap}/, <results_dir>/cap{cap}/), so the sweep is a set of jobs
# (one cap reruns alone: snakemake results/cap5000/checkpoints/bach.pt). Only the genre's own held-out pieces are
# scored, by the chosen checkpoint, beside both floors fitted on the same capped stream.
use rule tokenize as tokenize_at_cap with:
    output:
        train=[T_at_cap(f"{{genre}}{fold}.npy") for fold in folds()],
        val=[T_at_cap(f"{{genre}}{fold}.val.npy") for fold in folds()],
        stats=[T_at_cap(f"{{genre}}{fold}.stats.json") for fold in folds()],
        pieces=[T_at_cap(f"{{genre}}{fold}.pieces.tsv") for fold in folds()],
        dev=[T_at_cap(f"{{genre}}{fold}.dev.npy") for fold in (folds() if DEV else [])],
    params:
        tokenizer=TOKENIZER,
        val_fraction=config["corpus"]["val_fraction"],
        train_tokens=lambda wc: int(wc.cap),
        dev_fraction=DEV_FRACTION,
    log:
        "logs/tokenize_at_cap/{genre}.cap{cap}.log",
    benchmark:
        "logs/tokenize_at_cap/{genre}.cap{cap}.benchmark.tsv"


use rule train as train_at_cap with:
    input:
        unpack(
            lambda wc: {
                "train": T_at_cap(f"{wc.genre}{wc.fold}.npy").format(cap=wc.cap),
                "val": T_at_cap(f"{wc.genre}{wc.fold}.val.npy").format(cap=wc.cap),
                "stats": T_at_cap(f"{wc.genre}{wc.fold}.stats.json").format(cap=wc.cap),
                **({"dev": T_at_cap(f"{wc.genre}{wc.fold}.dev.npy").format(cap=wc.cap)} if DEV else {}),
            }
        ),
    output:
        checkpoint=R_at_cap("checkpoints/{genre}{fold}{rep}.pt"),
        history=R_at_cap("train/{genre}{fold}{rep}.tsv"),
        **({"best_dev": R_at_cap("checkpoints/{genre}{fold}{rep}.best_dev.pt")} if DEV else {}),
    params:
        tokenizer=TOKENIZER,
        model=config["model"],
        train=lambda wc: train_section(wc.genre, wc.rep),
        state=lambda wc: R(f"cap{wc.cap}/train_state/{wc.genre}{wc.fold}{wc.rep}.pt"),
        card=lambda wc: model_card_facts(wc.genre),
    log:
        L("train_at_cap/{genre}{fold}{rep}.cap{cap}.log"),
    benchmark:
        L("train_at_cap/{genre}{fold}{rep}.cap{cap}.benchmark.tsv")


use rule evaluate_model as evaluate_at_cap with:
    input:
        checkpoint=R_at_cap("checkpoints/{genre}{fold}{rep}{ckpt}.pt"),
        val=[T_at_cap("{genre}{fold}.val.npy")],
        pieces=[T_at_cap("{genre}{fold}.pieces.tsv")],
    output:
        table=R_at_cap("eval/{genre}{fold}{rep}{ckpt}.tsv"),
        pieces=R_at_cap("eval/{genre}{fold}{rep}{ckpt}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        genres=lambda wc: [wc.genre],
        tempos={g: source(g)["tempo"] for g in GENRES},
    log:
        L("evaluate_at_cap/{genre}{fold}{rep}{ckpt}.cap{cap}.log"),
    benchmark:
        L("evaluate_at_cap/{genre}{fold}{rep}{ckpt}.cap{cap}.benchmark.tsv")


use rule ngram_floor as ngram_floor_at_cap with:
    input:
        train=T_at_cap("{genre}{fold}.npy"),
        val=T_at_cap("{genre}{fold}.val.npy"),
        pieces=T_at_cap("{genre}{fold}.pieces.tsv"),
    output:
        table=R_at_cap("ngram/{genre}{fold}.tsv"),
        pieces=R_at_cap("ngram/{genre}{fold}.pieces.tsv"),
    log:
        L("ngram_floor_at_cap/{genre}{fold}.cap{cap}.log"),
    benchmark:
        L("ngram_floor_at_cap/{genre}{fold}.cap{cap}.benchmark.tsv")


use rule ppm_floor as ppm_floor_at_cap with:
    input:
        train=T_at_cap("{genre}{fold}.npy"),
        val=T_at_cap("{genre}{fold}.val.npy"),
        pieces=T_at_cap("{genre}{fold}.pieces.tsv"),
    output:
        table=R_at_cap("ppm/{genre}{fold}.tsv"),
        pieces=R_at_cap("ppm/{genre}{fold}.pieces.tsv"),
    log:
        L("ppm_floor_at_cap/{genre}{fold}.cap{cap}.log"),
    benchmark:
        L("ppm_floor_at_cap/{genre}{fold}.cap{cap}.benchmark.tsv")


rule learning_curves:
    input:
        points=lambda wc: [path for genre in GENRES for point in curve_points(genre) for paths in point.values()
                           if isinstance(paths, list) for path in paths],
    output:
        table=R("learning_curves.tsv"),
        fits=R("learning_curves_fit.tsv"),
        figure=R("learning_curves.png"),
    params:
        genres=GENRES,
        titles=genre_titles(),
        points={genre: curve_points(genre) for genre in GENRES},
        min_gain=config["metrics"]["data_limited_gain"],
    log:
        L("learning_curves/all.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/learning_curves.py"
