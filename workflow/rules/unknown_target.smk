# A target under results/ that no stage writes (a typo such as clusters -> cluster) would get Snakemake's
# generic "No rule to produce"; this rule claims exactly those paths (its wildcard excludes every artifact of
# src/policygradex/artifacts.py) and fails while the DAG is built, listing the benchmark's targets.
rule unknown_target:
    """Fails for a path under results/ that is not an artifact, naming the valid ones."""
    input:
        fail_unknown_target,
    output:
        "results/{benchmark}/{path}",
    log:
        "logs/{benchmark}/unknown_target/{path}.log",
    wildcard_constraints:
        path=unknown_path_regex(),
    conda:
        ENV
    shell:
        "false"
