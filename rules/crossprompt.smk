# Open end: cross-genre prompting. Model A continues the first bars of a held-out piece of genre B; the
# continuation's musical statistics are measured against both corpora (midi_genres/crossprompt.py).


rule crossprompt:
    input:
        checkpoint=R("checkpoints/{model}.pt"),
        prompt_val=T("{prompt}.val.npy"),
        model_train=T("{model}.npy"),
        prompt_train=T("{prompt}.npy"),
    output:
        midi=R("crossprompt/{model}__from__{prompt}.mid"),
        png=R("crossprompt/{model}__from__{prompt}.png"),
        table=R("crossprompt/{model}__from__{prompt}.tsv"),
    wildcard_constraints:
        model=one_of(GENRES),
        prompt=one_of(GENRES),
    params:
        tokenizer=TOKENIZER,
        bars=config["crossprompt"]["bars"],
        samples=config["crossprompt"]["samples"],
        sample=lambda wc: section("sample", wc.model),
        tempo=lambda wc: source(wc.model)["tempo"],
        drums=lambda wc: {g: is_drums(g) for g in (wc.model, wc.prompt)},
        corpus_pieces=config["metrics"]["corpus_pieces"],
        title=lambda wc: crossprompt_title(wc.model, wc.prompt),
    log:
        "logs/crossprompt/{model}__from__{prompt}.log",
    benchmark:
        "logs/crossprompt/{model}__from__{prompt}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/crossprompt.py"


rule aggregate_crossprompt:
    input:
        tables=[R(f"crossprompt/{m}__from__{p}.tsv") for m, p in crossprompt_pairs()],
    output:
        table=R("crossprompt.tsv"),
        figure=R("crossprompt.png"),
    params:
        pairs=crossprompt_pairs(),
        titles={g: source(g).get("title", g) for g in GENRES},
    log:
        "logs/aggregate_crossprompt/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/aggregate_crossprompt.py"
