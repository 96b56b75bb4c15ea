# The baselines of the comparison: each baseline grouping is fine-tuned and evaluated like the method's.


checkpoint baselines:
    """Evidence: a baseline grouping (random, gradient similarity, per task, ...) at the same k -> baselines/{baseline}/clusters.csv."""
    input:
        unpack(baseline_inputs),
    output:
        "results/{benchmark}/baselines/{baseline}/clusters.csv",
    log:
        "logs/{benchmark}/baselines/{baseline}.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("baselines"),
        inputs=baseline_args,
    shell:
        "$PGX_PYTHON -m policygradex baselines --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --baseline {wildcards.baseline} {params.inputs} --quality {input.quality} --output {output} > {log} 2>&1"


use rule finetune as finetune_baseline with:
    input:
        policy="results/{benchmark}/meta/policy.pt",
        clusters="results/{benchmark}/baselines/{baseline}/clusters.csv",
        quality="results/{benchmark}/cluster_quality.json",
    output:
        policy="results/{benchmark}/baselines/{baseline}/groups/{group}/policy.pt",
        log_csv="results/{benchmark}/baselines/{baseline}/groups/{group}/train_log.csv",
    log:
        "logs/{benchmark}/baselines/{baseline}/finetune/{group}.log",
    benchmark:
        "logs/{benchmark}/baselines/{baseline}/finetune/{group}.benchmark.tsv"
    params:
        settings=settings("finetune"),
        total_steps=baseline_steps,


rule evaluate_baseline:
    """Evidence: evaluate a baseline's group policies as evaluate does -> baselines/{baseline}/evaluation.csv."""
    input:
        clusters="results/{benchmark}/baselines/{baseline}/clusters.csv",
        group_policies=baseline_group_policies,
    output:
        "results/{benchmark}/baselines/{baseline}/evaluation.csv",
    log:
        "logs/{benchmark}/baselines/{baseline}/evaluate.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=settings("evaluate"),
    shell:
        "$PGX_PYTHON -m policygradex evaluate --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --threads {threads} --clusters {input.clusters} --group-policies {input.group_policies}"
        " --method {wildcards.baseline} --output {output} > {log} 2>&1"
