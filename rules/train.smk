# Stage 3: the shared architecture trained on one genre's token stream.


rule train:
    input:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
    output:
        checkpoint=R("checkpoints/{genre}.pt"),
        history=R("train/{genre}.tsv"),
    params:
        tokenizer=TOKENIZER,
        model=config["model"],
        train=lambda wc: section("train", wc.genre),
        state=lambda wc: R(f"train_state/{wc.genre}.pt"),
    log:
        "logs/train/{genre}.log",
    benchmark:
        "logs/train/{genre}.benchmark.tsv"
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
