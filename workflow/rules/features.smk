rule features:
    """2. Roll out theta* on one task; projected per-sample gradients of log pi -> features/{task}.npz."""
    input:
        policy="results/{benchmark}/meta/policy.pt",
    output:
        features="results/{benchmark}/features/{task}.npz",
        timing="results/{benchmark}/timing/features/{task}.json",
    log:
        "logs/{benchmark}/features/{task}.log",
    benchmark:
        "logs/{benchmark}/features/{task}.benchmark.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=20,
    params:
        settings=settings("features"),
    shell:
        "$PGX_PYTHON -m policygradex features --benchmark {wildcards.benchmark} --settings {params.settings:q} --threads {threads}"
        " --policy {input.policy} --task {wildcards.task} --output {output.features} --timing {output.timing} > {log} 2>&1"
