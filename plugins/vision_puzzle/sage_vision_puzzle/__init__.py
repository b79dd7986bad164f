"""RGB images -> 30x30 puzzle -> images."""
