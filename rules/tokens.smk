# Stage: tokens. A genre's MIDI folder -> per fold (split.folds; fold 1's files carry no suffix) training and
# validation token streams (whole tune families held out), a dev stream where split.dev_fraction asks for one,
# stats and the pieces table.


rule tokenize:
    input:
        midi="data/midi/{genre}",
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    output:
        train=expand(T("{{genre}}{fold}.npy"), fold=folds()),
        val=expand(T("{{genre}}{fold}.val.npy"), fold=folds()),
        stats=expand(T("{{genre}}{fold}.stats.json"), fold=folds()),
        pieces=expand(T("{{genre}}{fold}.pieces.tsv"), fold=folds()),
        dev=expand(T("{{genre}}{fold}.dev.npy"), fold=folds() if DEV else []),
    params:
        tokenizer=TOKENIZER,
        val_fraction=config["corpus"]["val_fraction"],
        train_tokens=MAIN_CAP,
        dev_fraction=DEV_FRACTION,
    log:
        "logs/tokenize/{genre}.log",
    benchmark:
        "logs/tokenize/{genre}.benchmark.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/tokenize_midi.py"
