"""Contracts a plugin implements: spaces, datasets, optimizers, selectors, benchmarks,
proxies, methods, options, and the run and step context. Imports no other layer."""
