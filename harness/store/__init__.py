"""Run folders on disk: atomic writes, records, trajectories and checkpoints."""
