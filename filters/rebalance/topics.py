"""Topic and format per document (WebOrganizer's 24 + 24 categories).

Two classifiers, chosen by `rebalance.topics.classifier`:
- `hashed`: stage 1's linear head over hashed word n-grams (crawl/selection/classifier.py), so the
  crawl and this stage share one classifier; cheap, English-centred.
- `zero_shot`: cosine of the document's embedding (the one this stage computed anyway) with the
  embedded label descriptions (crawl/selection/labels.py); with `embed.model: e5-multilingual`
  it reads Chinese and English alike.
Accuracy of both on 175 real pages labelled by hand (labels/topic_format.jsonl, rule in
labels/LABELLING.md) is measured by tests/rebalance/test_topics.py and stated in the README.
"""

from __future__ import annotations

import numpy as np

from crawl.selection.labels import FORMATS, TOPICS

TOPIC_NAMES, FORMAT_NAMES = tuple(TOPICS), tuple(FORMATS)
PREFIX_CHARS = 2000  # what the hashed classifier reads of a document (title line first when there is one)
TEMPERATURE = 0.05   # softmax temperature of the zero-shot cosines (confidence only; argmax decides)


def classify(texts: list[str], titles: list[str | None] | None = None) -> dict[str, list]:
    """Stage 1's hashed classifier: {"topic", "topic_confidence", "format", "format_confidence"}."""
    from crawl.selection.classifier import make_classifier

    heads = [((f"{title}\n" if title else "") + (text or ""))[:PREFIX_CHARS]
             for text, title in zip(texts, titles or [None] * len(texts), strict=True)]
    topics, formats, t_conf, f_conf = make_classifier("hashed").classify(heads)
    return {"topic": list(topics), "topic_confidence": np.asarray(t_conf, np.float32),
            "format": list(formats), "format_confidence": np.asarray(f_conf, np.float32)}


def label_vectors(embedder) -> tuple[np.ndarray, np.ndarray]:
    """The embedded "name: description" of every topic and format (as queries)."""
    from crawl.selection.labels import FORMATS, TOPICS

    return (embedder.embed([f"{k}: {v}" for k, v in TOPICS.items()], query=True),
            embedder.embed([f"{k}: {v}" for k, v in FORMATS.items()], query=True))


def classify_embeddings(vectors: np.ndarray, embedder) -> dict[str, list]:
    """Zero-shot: the label whose description is nearest to each document embedding."""
    from crawl.selection.labels import FORMATS, TOPICS

    topic_vectors, format_vectors = label_vectors(embedder)
    out: dict[str, list] = {}
    for key, names, labels in (("topic", list(TOPICS), topic_vectors), ("format", list(FORMATS), format_vectors)):
        best, confidence = np.zeros(len(vectors), np.int64), np.zeros(len(vectors), np.float32)
        for start in range(0, len(vectors), 65_536):
            sims = np.asarray(vectors[start:start + 65_536], np.float32) @ labels.T / TEMPERATURE
            sims -= sims.max(axis=1, keepdims=True)
            p = np.exp(sims)
            p /= p.sum(axis=1, keepdims=True)
            best[start:start + len(sims)], confidence[start:start + len(sims)] = p.argmax(1), p.max(1)
        out[key] = [names[i] for i in best]
        out[f"{key}_confidence"] = confidence
    return out
