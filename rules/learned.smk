# What each model learned, taken apart: held-out bits by part (drawn here; computed by evaluate_model), the models
# as a classifier (does each model's music pass as its genre?), and the synthetic generators' rules (what a perfect
# model must have learned). Nothing is trained or sampled for this: it reuses the evaluation, the sample batches,
# the cross-genre continuations and the conditional model's samples.


rule render_heldout:
    input:
        summary=R("summary.tsv"),
    output:
        figure=R("heldout.png"),
    log:
        "logs/render_heldout/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_heldout.py"


rule score_music:
    input:
        checkpoint=R("checkpoints/{genre}.pt"),
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
        "logs/score_music/{genre}.log",
    benchmark:
        "logs/score_music/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/score_music.py"


rule aggregate_fidelity:
    input:
        eval_pieces=expand(R("eval/{genre}.pieces.tsv"), genre=GENRES),
        scores=expand(R("fidelity/{genre}.tsv"), genre=GENRES),
    output:
        table=R("fidelity.tsv"),
        figure=R("fidelity.png"),
    params:
        genres=GENRES,
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_fidelity/all.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_fidelity.py"


rule synthetic_rules:
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
        "logs/synthetic_rules/{genre}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/synthetic_rules.py"


rule aggregate_rules:
    input:
        tables=expand(R("rules/{genre}.tsv"), genre=genres_of_kind("synthetic")),
    output:
        table=R("rules.tsv"),
        figure=R("rules.png"),
    params:
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_rules/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_rules.py"
