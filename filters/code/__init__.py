"""Stage 6 (code): code files with OpenCoder rule hits."""
