"""Full-text search: what a reader types, the two engines' indexes, ranking and snippets."""
