"""Developer tools run from the repository (sizes)."""
