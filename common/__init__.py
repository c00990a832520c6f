"""Floor 0: leaves that import nothing first-party (atomic state writes, the state directory)."""
