# The first-order error against the validation subsets that full_training really fine-tuned.


rule approx_error:
    """Evidence: first-order prediction vs real fine-tuning -> approx_error.csv|json."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        features=feature_files,
        estimate_chunks=estimate_chunks,
        full_chunks=full_chunks,
        full_deltas=full_deltas,
    output:
        errors="results/{benchmark}/approx_error.csv",
        summary=report(
            "results/{benchmark}/approx_error.json",
            caption="../report/approx_error.rst",
            category="6. Evidence",
        ),
    log:
        "logs/{benchmark}/approx_error.log",
    benchmark:
        "logs/{benchmark}/approx_error.benchmark.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=20,
    params:
        settings=settings("approx_error"),
    shell:
        "$PGX_PYTHON -m policygradex approx_error --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --threads {threads} --policy {input.policy} --features {input.features}"
        " --estimate-chunks {input.estimate_chunks} --full-chunks {input.full_chunks}"
        " --full-deltas {input.full_deltas} --output {output.errors} --summary {output.summary} > {log} 2>&1"
