"""Benchmarks: each module `bench/<part>.py` is one part of `make bench`."""
