# Grouping quality against the baselines (baselines.smk): every method's groups under the same budget.


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
