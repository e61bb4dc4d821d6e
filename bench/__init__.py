"""Benchmarks: the app's figures as ratios to the raw SpiffWorkflow cycle measured in the same run."""
