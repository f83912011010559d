# Stage: tokens. A genre's MIDI folder -> training and validation token streams (whole tune families held
# out), stats and the pieces table.


rule tokenize:
    input:
        midi="data/midi/{genre}",
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    output:
        train=T("{genre}.npy"),
        val=T("{genre}.val.npy"),
        stats=T("{genre}.stats.json"),
        pieces=T("{genre}.pieces.tsv"),
    params:
        tokenizer=TOKENIZER,
        val_fraction=config["corpus"]["val_fraction"],
        train_tokens=config["corpus"]["train_tokens"],
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
