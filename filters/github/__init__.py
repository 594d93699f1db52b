"""Stage 7 (github): PR / issue / commit samples, decontaminated."""
