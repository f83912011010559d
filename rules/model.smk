# Stage: model. The shared architecture trained on one genre's token stream, once per seed (train.seeds;
# {rep} is "" for the first seed, ".seed1", ".seed2", ... for the others).


rule train:
    input:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
        stats=T("{genre}.stats.json"),
    output:
        checkpoint=R("checkpoints/{genre}{rep}.pt"),
        history=R("train/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        model=config["model"],
        train=lambda wc: train_section(wc.genre, wc.rep),
        state=lambda wc: R(f"train_state/{wc.genre}{wc.rep}.pt"),
        card=lambda wc: model_card_facts(wc.genre),
    log:
        "logs/train/{genre}{rep}.log",
    benchmark:
        "logs/train/{genre}{rep}.benchmark.tsv"
    # Two 1-thread jobs at once train 1.1x faster in total than one 2-thread job (benchmarks/run.py). Trainings go
    # before the quick analysis jobs, which then fill the cores while the last model trains.
    threads: 1
    priority: 1
    resources:
        mem_mb=1500,
        runtime=60,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/train.py"
