"""Contracts a plugin implements: spaces, datasets, optimizers, selectors, benchmarks, proxies, methods, options, the run and step context. Imports nothing from the other layers."""
