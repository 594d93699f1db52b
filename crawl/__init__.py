"""Stage 1: a polite, robots-aware crawler with a category-balanced budget (StepCrawl)."""
