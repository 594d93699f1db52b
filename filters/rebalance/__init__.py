"""Stage 5 (rebalance): embedding clusters, topic/format, knowledge mining."""
