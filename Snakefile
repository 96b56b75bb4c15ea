# PolicyGradEx workflow: which RL tasks to train together, estimated from one meta-policy's gradients.
# Stages (one rule file each, one `policygradex <stage>` sub-command each):
#   meta_train -> features -> estimate -> affinity -> cluster (checkpoint) -> finetune -> evaluate -> report
# Run: snakemake --cores 2 --workflow-profile workflow/profiles/default results/pointmass/report.html


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/meta_train.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/affinity.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/full_training.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/hessian.smk"


onsuccess:
    from policygradex.summary import summary

    text = summary(config["benchmarks"])
    if text:
        print(text)


rule all:
    input:
        [artifacts(name) for name in config["benchmarks"]],
    default_target: True
