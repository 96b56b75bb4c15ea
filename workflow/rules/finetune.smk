rule finetune:
    """6. Fine-tune theta* on one group's tasks -> groups/{group}/policy.pt."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        clusters="results/{benchmark}/clusters.csv",
    output:
        policy="results/{benchmark}/groups/{group}/policy.pt",
        log_csv="results/{benchmark}/groups/{group}/train_log.csv",
    log:
        "logs/{benchmark}/finetune/{group}.log",
    benchmark:
        "logs/{benchmark}/finetune/{group}.benchmark.tsv"
    conda:
        ENV
    threads: training_threads
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=120,
    params:
        settings=settings("finetune"),
        total_steps=lambda wildcards: bench(wildcards)["finetune"]["total_steps"],
    shell:
        "$PGX_PYTHON -m policygradex finetune --benchmark {wildcards.benchmark} --settings {params.settings:q} --threads {threads}"
        " --policy {input.policy} --clusters {input.clusters} --group {wildcards.group}"
        " --total-steps {params.total_steps} --output {output.policy} --log-csv {output.log_csv} 2>&1 | tee {log}"
