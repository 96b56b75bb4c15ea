# Evidence: the cost of the estimate against full training, and how well their affinities agree.


rule speedup:
    """Evidence: CPU seconds of estimation vs full training, and their agreement -> speedup.json."""
    input:
        feature_timings=feature_timings,
        estimate_timings=estimate_timings,
        full_timings=full_timings,
        meta_log="results/{benchmark}/meta/train_log.csv",
        estimate_chunks=estimate_chunks,
        affinity_full="results/{benchmark}/affinity_full.csv",
        quality="results/{benchmark}/cluster_quality.json",
    output:
        report(
            "results/{benchmark}/speedup.json",
            caption="../report/speedup.rst",
            category="6. Evidence",
        ),
    log:
        "logs/{benchmark}/speedup.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("speedup"),
    shell:
        "$PGX_PYTHON -m policygradex speedup --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --feature-timings {input.feature_timings} --estimate-timings {input.estimate_timings}"
        " --full-timings {input.full_timings} --meta-log {input.meta_log} --estimate-chunks {input.estimate_chunks}"
        " --affinity-full {input.affinity_full} --quality {input.quality} --output {output} > {log} 2>&1"
