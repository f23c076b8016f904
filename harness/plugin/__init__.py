"""Plugin plumbing: hook specs, the plugin manager (entry points) and the registries."""
