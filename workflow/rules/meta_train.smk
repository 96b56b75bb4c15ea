rule meta_train:
    """1. Multitask RL on all n tasks: theta* -> meta/policy.pt, meta/train_log.csv."""
    output:
        policy="results/{benchmark}/meta/policy.pt",
        log_csv=report(
            "results/{benchmark}/meta/train_log.csv",
            caption="../report/meta_train.rst",
            category="1. Meta-training",
        ),
    log:
        "logs/{benchmark}/meta_train.log",
    benchmark:
        "logs/{benchmark}/meta_train.benchmark.tsv"
    conda:
        ENV
    threads: training_threads
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=240,
    params:
        settings=settings("meta_train"),
    shell:
        "$PGX_PYTHON -m policygradex meta_train --benchmark {wildcards.benchmark} --settings {params.settings:q} --threads {threads}"
        " --output {output.policy} --log-csv {output.log_csv} 2>&1 | tee {log}"
