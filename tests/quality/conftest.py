"""One held-out real corpus for all quality tests (page extraction is the slow part)."""

from __future__ import annotations

import pytest

from filters.quality import corpus


@pytest.fixture(scope="session")
def heldout_items(shared_data) -> list[corpus.LabelledText]:
    """Held-out split only: pages never used to train the default models."""
    items = list(corpus.python_doc_pages(split="heldout", limit=10))
    items += list(corpus.web_pages(shared_data / "trafilatura" / "tests", split="heldout", limit=25))
    return items
