rule hessian:
    """Hessian trace of every policy against its generalization gap -> hessian.csv."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        clusters="results/{benchmark}/clusters.csv",
        group_policies=group_policies,
    output:
        table=report(
            "results/{benchmark}/hessian.csv",
            caption="../report/hessian.rst",
            category="5. Generalization",
        ),
        plot=report(
            "results/{benchmark}/plots/hessian.png",
            caption="../report/hessian.rst",
            category="5. Generalization",
        ),
    log:
        "logs/{benchmark}/hessian.log",
    benchmark:
        "logs/{benchmark}/hessian.benchmark.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=60,
    params:
        settings=settings("hessian"),
    shell:
        "$PGX_PYTHON -m policygradex hessian --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --threads {threads} --policy {input.policy} --clusters {input.clusters}"
        " --group-policies {input.group_policies} --output {output.table} --plot {output.plot} > {log} 2>&1"
