rule evaluate:
    """7. Deterministic returns of each group policy on its tasks and of theta* on all -> evaluation.csv."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        clusters="results/{benchmark}/clusters.csv",
        group_policies=group_policies,
    output:
        report(
            "results/{benchmark}/evaluation.csv",
            caption="../report/evaluate.rst",
            category="4. Evaluation",
        ),
    log:
        "logs/{benchmark}/evaluate.log",
    benchmark:
        "logs/{benchmark}/evaluate.benchmark.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=settings("evaluate"),
    shell:
        "$PGX_PYTHON -m policygradex evaluate --benchmark {wildcards.benchmark} --settings {params.settings:q} --threads {threads}"
        " --policy {input.policy} --clusters {input.clusters} --group-policies {input.group_policies}"
        " --method policygradex --output {output} > {log} 2>&1"
