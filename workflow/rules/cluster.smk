# A checkpoint: the number of groups, and so the finetune jobs, is known only once clusters.csv exists.
# The stage also chooses k (cluster.k: auto) and judges the groups (split halves of the subsets, a permutation
# test): cluster_quality.json holds the verdict, and the Snakefile's onsuccess handler prints it.
checkpoint cluster:
    """5. Group the tasks (k from the config or auto) and judge the groups -> clusters.csv, cluster_quality.json."""
    input:
        affinity="results/{benchmark}/affinity.csv",
        chunks=estimate_chunks,
        features=feature_files,
    output:
        clusters=report(
            "results/{benchmark}/clusters.csv",
            caption="../report/cluster.rst",
            category="3. Clusters",
        ),
        quality=report(
            "results/{benchmark}/cluster_quality.json",
            caption="../report/cluster_quality.rst",
            category="3. Clusters",
        ),
    log:
        "logs/{benchmark}/cluster.log",
    benchmark:
        "logs/{benchmark}/cluster.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=settings("cluster"),
    shell:
        "$PGX_PYTHON -m policygradex cluster --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --affinity {input.affinity} --chunks {input.chunks} --features {input.features}"
        " --output {output.clusters} --quality {output.quality} > {log} 2>&1"
