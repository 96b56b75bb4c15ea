"""PolicyGradEx: which RL tasks to train together, estimated from the gradients of one meta-policy.

Reference implementation of Zhang et al., "Scalable Multi-Objective and Meta Reinforcement Learning via Gradient
Estimation" (arXiv 2511.12779). Each module is one stage of the Snakemake workflow; see README.md.
"""

__version__ = "0.1.0"
