"""spark-submit entry for stage 8 (tokenize): spark-submit jobs/stage_8_tokenize.py --run DIR [--config F] [--set k=v]."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.cli import job_main  # noqa: E402

sys.exit(job_main(8))
