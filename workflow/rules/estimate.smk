rule estimate:
    """3. First-order estimates (logistic fit, no RL) for one chunk of random subsets -> subsets/chunk_{c}.csv."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
        features=feature_files,
    output:
        scores="results/{benchmark}/subsets/chunk_{chunk}.csv",
        timing="results/{benchmark}/timing/estimate/chunk_{chunk}.json",
    log:
        "logs/{benchmark}/estimate/chunk_{chunk}.log",
    benchmark:
        "logs/{benchmark}/estimate/chunk_{chunk}.benchmark.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    params:
        settings=settings("estimate"),
    shell:
        "$PGX_PYTHON -m policygradex estimate --benchmark {wildcards.benchmark} --settings {params.settings:q} --threads {threads}"
        " --policy {input.policy} --features {input.features} --chunk {wildcards.chunk}"
        " --output {output.scores} --timing {output.timing}"
        " > {log} 2>&1"
