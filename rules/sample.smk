# Stage 4: ~30 s of music sampled from each genre's model.


rule sample:
    input:
        checkpoint=R("checkpoints/{genre}.pt"),
    output:
        midi=R("samples/{genre}.mid"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=lambda wc: source(wc.genre)["tempo"],
        drums=lambda wc: is_drums(wc.genre),
    log:
        "logs/sample/{genre}.log",
    benchmark:
        "logs/sample/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/sample.py"
