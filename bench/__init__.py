"""gnomon benchmarks (run ``python bench/run.py``); not part of the package."""
