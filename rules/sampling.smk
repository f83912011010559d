# Stage: sampling. Music drawn from each genre's model: the sample the figures and the page show, and a batch
# per seeded model for the analyses.


rule sample:
    input:
        checkpoint=selected_checkpoint("{genre}"),
    output:
        midi=R("samples/{genre}.mid"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=tempo_of("genre"),
        drums=drums_of("genre"),
    log:
        L("sample/{genre}.log"),
    benchmark:
        L("sample/{genre}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/sample.py"


rule sample_batch:
    input:
        checkpoint=selected_checkpoint("{genre}{rep}"),
    output:
        tokens=R("samples_batch/{genre}{rep}.npy"),
        table=R("samples_batch/{genre}{rep}.tsv"),
    params:
        tokenizer=TOKENIZER,
        sample=lambda wc: section("sample", wc.genre),
        tempo=tempo_of("genre"),
        n_samples=config["metrics"]["samples"],
    log:
        L("sample_batch/{genre}{rep}.log"),
    benchmark:
        L("sample_batch/{genre}{rep}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/sample_batch.py"
