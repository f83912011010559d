# Stage: model. The shared architecture trained on one genre's token stream, once per fold and seed ({fold} is ""
# for fold 1, ".fold2", ... for the others, split.folds; {rep} is "" for the first seed, ".seed1", ... for the
# others, train.seeds). With a dev set (split.dev_fraction) every training also keeps its lowest-dev-loss
# checkpoint, "<model>.best_dev.pt"; train.select says which of the two the rest of the run uses.


rule train:
    input:
        unpack(
            lambda wc: {
                "train": T(f"{wc.genre}{wc.fold}.npy"),
                "val": T(f"{wc.genre}{wc.fold}.val.npy"),
                "stats": T(f"{wc.genre}{wc.fold}.stats.json"),
                **({"dev": T(f"{wc.genre}{wc.fold}.dev.npy")} if DEV else {}),
            }
        ),
    output:
        checkpoint=R("checkpoints/{genre}{fold}{rep}.pt"),
        history=R("train/{genre}{fold}{rep}.tsv"),
        **({"best_dev": R("checkpoints/{genre}{fold}{rep}.best_dev.pt")} if DEV else {}),
    params:
        tokenizer=TOKENIZER,
        model=config["model"],
        train=lambda wc: train_section(wc.genre, wc.rep),
        state=lambda wc: R(f"train_state/{wc.genre}{wc.fold}{wc.rep}.pt"),
        card=lambda wc: model_card_facts(wc.genre),
    log:
        L("train/{genre}{fold}{rep}.log"),
    benchmark:
        L("train/{genre}{fold}{rep}.benchmark.tsv")
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
