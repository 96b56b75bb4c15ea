# Grouping quality against baselines: each baseline grouping is fine-tuned and evaluated like the method's.


checkpoint baseline:
    """Evidence: a baseline grouping (random, gradient similarity, per task, ...) at the same k -> baselines/{method}/clusters.csv."""
    input:
        unpack(baseline_inputs),
    output:
        "results/{benchmark}/baselines/{method}/clusters.csv",
    log:
        "logs/{benchmark}/baseline/{method}.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("baseline"),
        inputs=baseline_args,
    shell:
        "$PGX_PYTHON -m policygradex baseline --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --method {wildcards.method} {params.inputs} --quality {input.quality} --output {output} > {log} 2>&1"


use rule finetune as finetune_baseline with:
    input:
        policy="results/{benchmark}/meta/policy.pt",
        clusters="results/{benchmark}/baselines/{method}/clusters.csv",
        quality="results/{benchmark}/cluster_quality.json",
    output:
        policy="results/{benchmark}/baselines/{method}/groups/{group}/policy.pt",
        log_csv="results/{benchmark}/baselines/{method}/groups/{group}/train_log.csv",
    log:
        "logs/{benchmark}/baselines/{method}/finetune/{group}.log",
    benchmark:
        "logs/{benchmark}/baselines/{method}/finetune/{group}.benchmark.tsv"
    params:
        settings=settings("finetune"),
        total_steps=baseline_steps,


rule evaluate_baseline:
    """Evidence: evaluate a baseline's group policies as evaluate does -> baselines/{method}/evaluation.csv."""
    input:
        clusters="results/{benchmark}/baselines/{method}/clusters.csv",
        group_policies=baseline_group_policies,
    output:
        "results/{benchmark}/baselines/{method}/evaluation.csv",
    log:
        "logs/{benchmark}/baselines/{method}/evaluate.log",
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
        " --method {wildcards.method} --output {output} > {log} 2>&1"


rule compare:
    """Evidence: grouping quality of every method under the same budget -> comparison.csv."""
    input:
        comparison_inputs,
    output:
        table=report(
            "results/{benchmark}/comparison.csv",
            caption="../report/compare.rst",
            category="6. Evidence",
        ),
        plot=report(
            "results/{benchmark}/plots/comparison.png",
            caption="../report/compare.rst",
            category="6. Evidence",
        ),
    log:
        "logs/{benchmark}/compare.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("compare"),
    shell:
        "$PGX_PYTHON -m policygradex compare --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --evaluations {input} --output {output.table} --plot {output.plot} > {log} 2>&1"
