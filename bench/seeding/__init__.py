"""Benchmark data: `manage.py seed_scale` builds databases of up to 100,000 runs in bulk.

A development app: settings install it when DEBUG is on or SOPFLOW_BENCH=1 (the benchmark
scripts set it), never in a production configuration.
"""
