# Open end: one conditional model of the same architecture trained on every genre, each piece led by its
# [GENRE_x] token, with the separate models' total budget; sampled per genre from [BOS, GENRE_x] and compared
# with the separate models on held-out likelihood. Only in the run when conditional.enabled is true.
# The training and sampling rules are the per-genre rules, reused with other files and the genre tokens.


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
        "logs/train/conditional.log",
    benchmark:
        "logs/train/conditional.benchmark.tsv"
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
        tempo=lambda wc: source(wc.genre)["tempo"],
        drums=lambda wc: is_drums(wc.genre),
        extra_tokens=genre_tokens(GENRES),
        prompt=lambda wc: ["BOS", genre_token(wc.genre)],
    log:
        "logs/sample_conditional/{genre}.log",
    benchmark:
        "logs/sample_conditional/{genre}.benchmark.tsv"


use rule render_pianoroll as render_pianoroll_conditional with:
    input:
        midi=R("conditional/samples/{genre}.mid"),
    output:
        png=R("conditional/pianorolls/{genre}.png"),
    params:
        title=lambda wc: f"{source(wc.genre).get('title', wc.genre)}: sample of the conditional model",
        tempo=lambda wc: source(wc.genre)["tempo"],
        drums=lambda wc: is_drums(wc.genre),
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
    log:
        "logs/render_pianoroll_conditional/{genre}.log",


rule evaluate_conditional:
    input:
        checkpoint=R("conditional/checkpoint.pt"),
        val=expand(T("{genre}.val.npy"), genre=GENRES),
        pieces=expand(T("{genre}.pieces.tsv"), genre=GENRES),
        separate=expand(R("eval/{genre}.tsv"), genre=GENRES),
        separate_pieces=expand(R("eval/{genre}.pieces.tsv"), genre=GENRES),
    output:
        table=R("conditional/likelihood.tsv"),
        figure=R("conditional/likelihood.png"),
    params:
        tokenizer=TOKENIZER,
        genres=GENRES,
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/evaluate_conditional/all.log",
    benchmark:
        "logs/evaluate_conditional/all.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/evaluate_conditional.py"
