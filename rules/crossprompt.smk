# Open end: cross-genre prompting. Model A continues the first bars of a held-out piece of genre B; the
# continuation's musical statistics are measured against both corpora (midi_genres/experiments/crossprompt.py).


rule crossprompt_sample:
    input:
        checkpoint=R("checkpoints/{model}.pt"),
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
        tempo=lambda wc: source(wc.model)["tempo"],
        drums=lambda wc: is_drums(wc.model),
    log:
        "logs/crossprompt_sample/{model}__from__{prompt}.log",
    benchmark:
        "logs/crossprompt_sample/{model}__from__{prompt}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/crossprompt_sample.py"


rule render_crossprompt_pianoroll:
    input:
        midi=R("crossprompt/{model}__from__{prompt}.mid"),
        prompt=R("crossprompt/{model}__from__{prompt}.prompt.json"),
    output:
        png=R("crossprompt/{model}__from__{prompt}.png"),
    wildcard_constraints:
        model=one_of(GENRES),
        prompt=one_of(GENRES),
    params:
        title=lambda wc: crossprompt_title(wc.model, wc.prompt),
        tempo=lambda wc: source(wc.model)["tempo"],
        drums=lambda wc: is_drums(wc.model),
        seconds=None,
    log:
        "logs/render_crossprompt_pianoroll/{model}__from__{prompt}.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_pianoroll.py"


rule crossprompt:
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
        drums=lambda wc: {g: is_drums(g) for g in (wc.model, wc.prompt)},
        corpus_pieces=config["metrics"]["corpus_pieces"],
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
        "../workflow_scripts/crossprompt_measure.py"


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
