"""Storage: the corpus directory of Lance tables and its content-addressed media."""
