"""Storage: atomic writes, guarded readers, locks, the workspace."""
