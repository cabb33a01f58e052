"""Forward counting on the meta device: the dispatch mode, op formulas, the record tree, receptive fields."""
