# The expensive ground truth: PPO fine-tuning of theta* on subsets. Always for the approx_error validation
# subsets; for the first full_training.num_subsets estimation subsets (all by default) when full_training.enabled
# (affinity_full.csv, speedup.json).
rule full_training:
    """Evidence: really fine-tune theta* on one chunk of subsets (the ground truth) -> full_training/chunk_{c}.csv|npz."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        features=feature_files,
    output:
        scores="results/{benchmark}/full_training/chunk_{chunk}.csv",
        deltas="results/{benchmark}/full_training/chunk_{chunk}.npz",
        timing="results/{benchmark}/timing/full_training/chunk_{chunk}.json",
    log:
        "logs/{benchmark}/full_training/chunk_{chunk}.log",
    benchmark:
        "logs/{benchmark}/full_training/chunk_{chunk}.benchmark.tsv"
    conda:
        ENV
    threads: training_threads
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=240,
    params:
        settings=settings("full_training"),
    shell:
        "$PGX_PYTHON -m policygradex full_training --benchmark {wildcards.benchmark} --settings {params.settings:q}"
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
