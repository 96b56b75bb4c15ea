# A checkpoint: the number of groups, and so the finetune jobs, is known only once clusters.csv exists.
checkpoint cluster:
    input:
        affinity="results/{benchmark}/affinity.csv",
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
    params:
        settings=settings("cluster"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python -m policygradex cluster --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --affinity {input.affinity} --output {output.clusters} --quality {output.quality} > {log} 2>&1"
