"""The shipped model scorers on real text they never saw, their training, and their calibration.

Held-out = corpus.py's stable 1-in-5 split, never used to train a shipped model. Figures are
printed (run with -s) and asserted with a margin below what was measured (models/metrics.json).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from filters.quality import calibration, corpus, edu, models, ngram_lm, scorers, train
from filters.quality.static_embed import StaticEmbedder
from filters.quality.train import auc, spearman


@pytest.fixture(scope="module")
def fineweb(shared_data) -> list[corpus.Doc]:
    return corpus.docs(["fineweb_edu"])


# --------------------------------------------------------------------------- edu

def test_shipped_edu_head_ranks_unseen_fineweb_pages_like_llama3(fineweb):
    """Measured: Spearman 0.632 with the Llama-3 scores on the 210 held-out pages (5-fold CV on all
    1,000: 0.636); a head trained on the wrong labels or a broken feature path lands near 0."""
    held = [d for d in fineweb if d.split == "heldout"]
    predicted = models.edu_scores([d.text for d in held])
    labels = np.array([d.score for d in held])
    rho = spearman(predicted, labels)
    print(f"edu: Spearman {rho:.3f} on {len(held)} held-out FineWeb pages")
    assert rho > 0.55
    assert auc(predicted[labels >= 3], predicted[labels <= 1]) > 0.85


def test_edu_training_learns_from_real_labels_and_is_deterministic(fineweb, tmp_path):
    """A head fitted on 400 real pages ranks 200 others; refitting gives the same bytes; shuffled
    labels teach nothing (so the figure comes from the labels, not from the features alone)."""
    embedder = StaticEmbedder.default()
    train_docs = [d for d in fineweb if d.split == "train"][:400]
    test_docs = [d for d in fineweb if d.split == "heldout"][:200]
    texts, labels = [d.text for d in train_docs], np.array([d.score for d in train_docs])
    model = edu.EduModel.fit(texts, labels, embedder)
    rho = spearman(model.predict([d.text for d in test_docs], embedder), [d.score for d in test_docs])
    shuffled = edu.EduModel.fit(texts, np.random.default_rng(0).permutation(labels), embedder)
    rho_shuffled = spearman(shuffled.predict([d.text for d in test_docs], embedder), [d.score for d in test_docs])
    print(f"edu from 400 pages: Spearman {rho:.3f}; with shuffled labels {rho_shuffled:.3f}")
    assert rho > 0.45 and abs(rho_shuffled) < 0.2
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    model.save(first)
    edu.EduModel.fit(texts, labels, embedder).save(second)
    assert first.read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------- fastText (DCLM-style)

def test_shipped_fasttext_tells_reference_from_web_text_in_both_languages(shared_data):
    """Held-out encyclopedia/news vs held-out web pages (en: Wikipedia + ABC news vs FineWeb; zh:
    People's Daily vs iNews + Chinese Common Crawl). Measured AUC 0.94 (en) / 0.96 (zh) on all
    held-out sources."""
    for lang, good_keys, bad_keys in (("en", ["wikipedia_en", "news_en"], ["fineweb_edu"]),
                                      ("zh", ["peoples_daily_zh"], ["inews_zh", "chinesewebtext_zh"])):
        good = models.fasttext_scores([d.text for d in corpus.docs(good_keys, split="heldout")],
                                      str(models.DEFAULT_FASTTEXT))
        bad = models.fasttext_scores([d.text for d in corpus.docs(bad_keys, split="heldout")],
                                     str(models.DEFAULT_FASTTEXT))
        print(f"fasttext_quality {lang}: AUC {auc(good, bad):.3f} ({len(good)} vs {len(bad)})")
        assert auc(good, bad) > 0.85


def test_shipped_fasttext_agrees_with_llama3_edu_labels_it_never_saw(fineweb):
    """An independent signal: held-out FineWeb pages Llama-3 scored >= 3 vs scored 0."""
    held = [d for d in fineweb if d.split == "heldout"]
    s = models.fasttext_scores([d.text for d in held], str(models.DEFAULT_FASTTEXT))
    y = np.array([d.score for d in held])
    print(f"fasttext_quality: AUC edu>=3 vs edu=0 {auc(s[y >= 3], s[y == 0]):.3f}")
    assert auc(s[y >= 3], s[y == 0]) > 0.65


def test_fasttext_chinese_text_is_read_as_character_bigrams():
    line = models.fasttext_text("中文文本 Mixed\nText")
    assert line == "中 文 文 本 mixed text"


def test_fasttext_training_on_your_files_and_loading_any_path(tmp_path):
    positive = [d.text for d in corpus.docs(["news_en"], split="heldout")][:40]
    negative = [d.text for d in corpus.docs(["fineweb_edu"], split="heldout")][:40]
    out = tmp_path / "mine.bin"
    train.train_fasttext(positive, negative, out, dim=8, epoch=5)
    mine = models.fasttext_scores(positive + negative, str(out))
    assert mine.shape == (80,) and ((0 <= mine) & (mine <= 1)).all()


def test_fasttext_training_recovers_from_divergence_or_says_why(heldout_items, tmp_path):
    """lr=400 diverges to NaN on these pages; halving it (400 -> 200 -> 100 -> 50) recovers. A rate
    that no retry can save ends in one clear error, not a crash inside fastText."""
    from pipeline.errors import InputError

    web = [p.text for p in heldout_items if p.kind == "web"]
    boiler = [p.text for p in heldout_items if p.kind == "boilerplate"]
    out = tmp_path / "recovered.bin"
    used = train.train_fasttext(web, boiler, out, dim=8, epoch=5, lr=400.0)
    assert used < 400.0  # it did diverge at lr=400, and a retry at a lower rate trained the model
    assert models.fasttext_scores(web[:3], str(out)).shape == (3,)
    with pytest.raises(InputError, match="fastText training failed"):
        train.train_fasttext(web, boiler, tmp_path / "never.bin", dim=8, epoch=5, lr=1e9)


def test_fasttext_training_ignores_a_dirty_heap_and_is_deterministic(heldout_items, tmp_path):
    """fasttext-numpy2 reads memory it never initialised: after freeing NaN-filled blocks, training
    in this process diverged in 4-5 of 5 tries. Training runs in a fresh process, so the same
    input gives the same model bytes whatever the caller did before."""
    for _ in range(3):
        blocks = [np.full(100_000, np.nan, dtype=np.float32) for _ in range(300)]
        del blocks
    web = [p.text for p in heldout_items if p.kind == "web"]
    boiler = [p.text for p in heldout_items if p.kind == "boilerplate"]
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    train.train_fasttext(web, boiler, first, dim=8, epoch=5)
    train.train_fasttext(web, boiler, second, dim=8, epoch=5)
    assert first.read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------- n-gram LMs

def test_shipped_lms_prefer_unseen_reference_text_over_web_text(shared_data):
    """en: held-out Wikipedia + ABC news vs held-out FineWeb pages; zh: held-out People's Daily
    vs iNews pages. Measured AUC 0.92 (en, all held-out reference) / 0.94 (zh)."""
    for lang, good_keys, bad_keys in (("en", ["wikipedia_en", "news_en"], ["fineweb_edu"]),
                                      ("zh", ["peoples_daily_zh"], ["inews_zh"])):
        good = corpus.docs(good_keys, split="heldout")
        bad = corpus.docs(bad_keys, split="heldout")
        s = models.perplexity_scores([d.text for d in good + bad], [lang] * (len(good) + len(bad)))
        print(f"perplexity {lang}: AUC {auc(s[:len(good)], s[len(good):]):.3f}")
        assert auc(s[:len(good)], s[len(good):]) > 0.8


def test_perplexity_against_ccnet_own_values(shared_data):
    """Agreement with CCNet's perplexity (a different LM: 5-gram KenLM on Wikipedia, SentencePiece).
    zh: the 100 ChineseWebText docs (one CCNet bucket, 1461-1949): measured Spearman 0.23 with
    -CCNet ppl. en: only 20 head-bucket docs (168-338) exist here: printed, not asserted (see README)."""
    cwt = corpus.docs(["chinesewebtext_zh"])
    zh = models.perplexity_scores([d.text for d in cwt], ["zh"] * len(cwt))
    rho_zh = spearman(zh, [-d.score for d in cwt])
    ccnet = corpus.ccnet_docs()
    en = models.perplexity_scores([d["text"] for d in ccnet], ["en"] * len(ccnet))
    rho_en = spearman(en, [-d["perplexity"] for d in ccnet])
    print(f"Spearman with -CCNet perplexity: zh {rho_zh:.3f} (100 docs), en {rho_en:.3f} (20 head docs)")
    assert rho_zh > 0.1


def test_lm_training_is_deterministic_and_hash_free_of_start_symbol_collisions():
    texts = [d.text for d in corpus.docs(["news_en"])][:30]
    tokens = train.lm_tokens(texts, "en")
    a, b = ngram_lm.NgramLM.train(tokens, 3, 1 << 16), ngram_lm.NgramLM.train(tokens, 3, 1 << 16)
    assert all((x == y).all() for x, y in zip(a.grams, b.grams, strict=True))
    assert int(ngram_lm.START) > 1 << 32   # above every WordPiece id and code point
    probs = 10 ** a.log10_probs(tokens[0])
    assert ((probs > 0) & (probs <= 1)).all()


# --------------------------------------------------------------------------- calibration

def test_shipped_calibration_belongs_to_the_shipped_models():
    """Retraining a model without `train calibration` would leave cut points of another model."""
    data = calibration.load_reference()
    for name, path in models.default_paths().items():
        assert data["models"][name] == hashlib.sha256(open(path, "rb").read()).hexdigest(), name
    assert set(data["languages"]) == {"en", "zh"}
    for entry in data["languages"].values():
        sample = calibration.Sample.from_json(entry["sample"])
        assert entry["provenance"]["docs"] == len(sample.weights) >= 150
        assert len(sample.cut_points("fasttext_quality")) == 19
    assert "edu" not in data["languages"]["zh"]["sample"]["scores"]   # no Chinese edu model


def test_reference_sample_scores_are_reproduced_by_the_stage_scorers(shared_data):
    """The shipped sample's raw scores are what scorers.default_scores gives today (first docs)."""
    data = calibration.load_reference()
    docs = corpus.docs(calibration.SAMPLE_SOURCES["zh"], kind="web", split="heldout", lang="zh")[:20]
    now = scorers.default_scores([d.text for d in docs], ["zh"] * len(docs))
    stored = data["languages"]["zh"]["sample"]["scores"]
    for name in ("fasttext_quality", "perplexity", "gopher_quality", "lines"):
        np.testing.assert_allclose(now[name], stored[name][:20], atol=2e-6)


def test_metrics_file_records_what_each_model_learned_from():
    metrics = json.loads((models.MODELS_DIR / "metrics.json").read_text())
    for name in ("edu", "fasttext_quality", "perplexity_en", "perplexity_zh", "static_embed"):
        path = models.default_paths()[name]
        assert metrics[name]["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest(), name
        assert metrics[name]["bytes"] < 8_000_000


def test_the_static_table_built_at_setup_is_the_recorded_one():
    """`make setup` distils the table (not committed): its bytes are those the quality models
    were trained with, whose sha256 metrics.json records."""
    from filters.quality.static_embed import DEFAULT_TABLE, recorded_sha256

    assert hashlib.sha256(DEFAULT_TABLE.read_bytes()).hexdigest() == recorded_sha256()


@pytest.mark.slow
def test_static_embedder_rebuilds_to_the_recorded_bytes(tmp_path):
    """The distillation is deterministic: distilling the packaged MiniLM again gives the recorded
    table byte for byte (~1 min of CPU: one MiniLM pass over the 30,522 vocabulary tokens)."""
    from filters.quality.static_embed import recorded_sha256

    out = tmp_path / "table.npz"
    StaticEmbedder.distill().save(out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == recorded_sha256()
