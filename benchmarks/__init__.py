"""Speed benchmarks of Autoencoder Explorer against its peers, measured in one run.

``python -m benchmarks [--quick] [--json FILE] [--results FILE]`` prints a table and writes
``benchmarks/RESULTS.md`` (full runs only; ``--quick`` writes nowhere unless given ``--results``).
Every comparison is a ratio of runs alternated in the same process, so a shared, noisy machine
slows both sides alike. Benchmarks are not tests: ``tests/test_benchmarks.py`` only checks that
``--quick`` produces every row.
"""
