rule report:
    """8. Plots and the HTML report: verdict, affinity, clusters, evaluation -> report.html."""
    input:
        affinity="results/{benchmark}/affinity.csv",
        clusters="results/{benchmark}/clusters.csv",
        quality="results/{benchmark}/cluster_quality.json",
        evaluation="results/{benchmark}/evaluation.csv",
        hessian="results/{benchmark}/hessian.csv",
        hessian_plot="results/{benchmark}/plots/hessian.png",
        features=feature_files,
        train_logs=train_logs,
    output:
        html="results/{benchmark}/report.html",
        plots=report(
            multiext(
                "results/{benchmark}/plots/",
                "affinity.png",
                "similarity.png",
                "k_scores.png",
                "clusters.png",
                "evaluation.png",
                "gradient_consistency.png",
                "train_curves.png",
            ),
            caption="../report/plots.rst",
            category="5. Plots",
        ),
    log:
        "logs/{benchmark}/report.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("report"),
        plots_dir=lambda wildcards, input: str(Path(input.hessian_plot).parent),
    shell:
        "$PGX_PYTHON -m policygradex report --benchmark {wildcards.benchmark} --settings {params.settings:q}"
        " --affinity {input.affinity} --clusters {input.clusters} --quality {input.quality}"
        " --evaluation {input.evaluation} --hessian {input.hessian} --features {input.features}"
        " --plots-dir {params.plots_dir} --output {output.html} --train-logs {input.train_logs}"
        " --title {wildcards.benchmark} > {log} 2>&1"
