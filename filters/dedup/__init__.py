"""Stage 4: exact and MinHash-LSH near-duplicate removal (signatures in numpy, clustering on Spark)."""
