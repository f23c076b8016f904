"""Configs, seeds, the runner that turns a method and seeds into run folders, and suites."""
