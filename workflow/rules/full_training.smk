# The expensive ground truth: PPO fine-tuning of theta* on subsets. Always for the approx_error validation
# subsets; for the first full_training.num_subsets estimation subsets (all by default) when full_training.enabled
# (affinity_full.csv, speedup.json).
rule full_finetune:
    """Evidence: really fine-tune theta* on one chunk of subsets (the ground truth) -> full/chunk_{c}.csv|npz."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        features=feature_files,
    output:
        scores="results/{benchmark}/full/chunk_{chunk}.csv",
        deltas="results/{benchmark}/full/chunk_{chunk}.npz",
        timing="results/{benchmark}/timing/full_finetune/chunk_{chunk}.json",
    log:
        "logs/{benchmark}/full_finetune/chunk_{chunk}.log",
    benchmark:
        "logs/{benchmark}/full_finetune/chunk_{chunk}.benchmark.tsv"
    conda:
        ENV
    threads: training_threads
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=240,
    params:
        settings=settings("full_finetune"),
    shell:
        "$PGX_PYTHON -m policygradex full_finetune --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --threads {threads} --policy {input.policy} --features {input.features} --chunk {wildcards.chunk}"
        " --output {output.scores} --deltas {output.deltas} --timing {output.timing} > {log} 2>&1"


rule affinity_full:
    """Evidence: the affinity from really fine-tuned subsets -> affinity_full.csv."""
    input:
        require_full_training,
    output:
        report(
            "results/{benchmark}/affinity_full.csv",
            caption="../report/affinity_full.rst",
            category="6. Evidence",
        ),
    log:
        "logs/{benchmark}/affinity_full.log",
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
