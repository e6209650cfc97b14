"""Example deep zshbench plugin: registered through the entry point in setup.cfg, nothing else."""
