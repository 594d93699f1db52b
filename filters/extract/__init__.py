"""Stage 2: raw content (WARC/WET/ARC records, loose HTML/PDF/ePub files) → clean documents."""
