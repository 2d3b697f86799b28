"""Name tables used by the synthetic population (data files only)."""
