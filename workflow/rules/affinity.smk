rule affinity:
    """4. Average the subset scores into the task-affinity matrix T -> affinity.csv."""
    input:
        estimate_chunks,
    output:
        report(
            "results/{benchmark}/affinity.csv",
            caption="../report/affinity.rst",
            category="2. Task affinity",
        ),
    log:
        "logs/{benchmark}/affinity.log",
    benchmark:
        "logs/{benchmark}/affinity.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("affinity"),
    shell:
        "$PGX_PYTHON -m policygradex affinity --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --chunks {input} --output {output} > {log} 2>&1"
