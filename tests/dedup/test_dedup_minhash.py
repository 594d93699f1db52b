"""MinHash signatures and LSH banding against exact-Jaccard ground truth on real text (no Spark)."""

from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa
import pytest

from filters.dedup.minhash import (
    MinhashParams,
    band_keys,
    bands_for_threshold,
    estimated_jaccard,
    exact_jaccard,
    exact_jaccards,
    hash_texts,
    reference_hashes,
    shingle_sets,
)
from filters.dedup.normalize import normalize_texts
from tests.dedup.dedup_corpus import cc_texts, mutate, page_texts, true_jaccard, wet_texts


def test_normalisation_folds_case_accents_punctuation_and_numbers():
    got = normalize_texts(pa.array([
        "Café, CAFÉ! It costs $3.50 in 2024…", "naïve\u00a0Straße\u200bEND", "東京に行く", "", None,
    ]))
    assert got == ["cafe cafe it costs 0 0 in 0", "naive straße end", "東 京 に 行 く", "", ""]


@pytest.fixture(scope="module")
def real_texts(shared_data) -> list[str]:
    texts = cc_texts(shared_data) + page_texts(shared_data, 30) + wet_texts(shared_data)
    return [t for t in texts if len(t.split()) >= 150]


@pytest.fixture(scope="module")
def pairs(real_texts) -> list[tuple[str, str, float]]:
    """(original, near-copy, true Jaccard) over a spread of edit rates on real documents."""
    rng = random.Random(7)
    vocabulary = [w for t in real_texts for w in t.split()]
    out = []
    for i in range(240):
        text = real_texts[i % len(real_texts)]
        words = text.split()[:400]
        text = " ".join(words)
        edits = int(len(words) * rng.uniform(0.0, 0.09))
        copy = mutate(text, edits, rng, vocabulary)
        out.append((text, copy, true_jaccard(text, copy)))
    return out


def test_shingle_hashes_give_the_exact_jaccard_of_word_ngrams(pairs):
    originals = pa.array([p[0] for p in pairs[:60]])
    copies = pa.array([p[1] for p in pairs[:60]])
    for a, b, pair in zip(shingle_sets(originals, 5), shingle_sets(copies, 5), pairs[:60], strict=True):
        assert exact_jaccard(a, b) == pytest.approx(pair[2], abs=1e-9)


def test_the_compiled_exact_jaccard_equals_the_plain_python_one(pairs):
    """exact_jaccards (numba, used by the survivor check) against plain-Python n-gram sets, on
    near-copies and on the tricky texts below (empty, null, short, CJK, combining marks)."""
    texts = [t for p in pairs[:80] for t in p[:2]] + [t or "" for t in TRICKY]
    left = np.array(list(range(0, 160, 2)) + [160 + i for i in range(len(TRICKY))] + [160, 162])
    right = np.array(list(range(1, 160, 2)) + [160 + (i + 1) % len(TRICKY) for i in range(len(TRICKY))] + [161, 163])
    got = exact_jaccards(pa.array(texts), left, right, 5)
    want = [true_jaccard(texts[a], texts[b]) for a, b in zip(left, right, strict=True)]
    assert got == pytest.approx(want, abs=1e-9)
    assert 0 < sum(0 < w < 1 for w in want) and got[-2] == 1.0  # "" vs None: both without shingles


TRICKY = ["", None, "short text", "12 345 6x7 3.14", "日本語のテキスト、です。東京", "café naïve ÉCOLE Straße",
          "x\u0301y 1\u03012 \u0301", "emoji 😀 ok 𠀀𠀁 ゙", "ＡＢＣ full width ①②", "tab\tnew\nline\u00a0nbsp"]


@pytest.mark.parametrize("threshold_params", [MinhashParams(), MinhashParams(ngram=3, bands=17, rows=5, extra_perm=43)])
def test_the_compiled_pass_equals_the_numpy_definitions(real_texts, threshold_params):
    """hash_texts (one numba pass per document) against the step-by-step numpy reference, on
    real multilingual pages plus digits, combining marks, CJK, astral and empty texts; also on a
    slice (non-zero Arrow offset)."""
    texts = pa.array(TRICKY + real_texts)
    for batch in (texts, texts.slice(3)):
        compiled, reference = hash_texts(batch, threshold_params), reference_hashes(batch, threshold_params)
        assert np.array_equal(compiled.signatures, reference.signatures)
        assert np.array_equal(compiled.shingle_counts, reference.shingle_counts)
        assert np.array_equal(compiled.exact, reference.exact)
    counts = hash_texts(pa.array(["", None, "two words"]), MinhashParams()).shingle_counts
    assert counts.tolist() == [0, 0, 1]


def test_exact_hash_ignores_case_spacing_and_punctuation_only(real_texts):
    text = real_texts[0]
    variants = [text, text.upper(), "  " + text.replace(" ", "   ") + " !", text + " extra"]
    exact = hash_texts(pa.array(variants), MinhashParams()).exact
    assert (exact[0] == exact[1]).all() and (exact[0] == exact[2]).all()
    assert not (exact[0] == exact[3]).all()


def test_estimated_jaccard_is_unbiased_with_binomial_error(pairs):
    params = MinhashParams()
    a = hash_texts(pa.array([p[0] for p in pairs]), params).signatures
    b = hash_texts(pa.array([p[1] for p in pairs]), params).signatures
    truth = np.array([p[2] for p in pairs])
    estimate = estimated_jaccard(a, b)
    middle = (truth > 0.1) & (truth < 0.95)
    z = (estimate - truth)[middle] / np.sqrt(truth * (1 - truth) / params.num_perm)[middle]
    assert abs(np.mean(estimate - truth)) < 0.015
    assert 0.7 < np.std(z) < 1.4  # permutations behave like independent ones


def test_unrelated_documents_never_share_a_band(real_texts):
    params = MinhashParams()
    sigs = hash_texts(pa.array(real_texts), params).signatures
    keys = band_keys(sigs, params.bands, params.rows)
    for band in range(params.bands):
        assert len(np.unique(keys[:, band])) == len(real_texts)


@pytest.mark.parametrize("threshold", [None, 0.7, 0.8])
def test_lsh_recall_and_precision_at_the_threshold_per_band_setting(pairs, threshold):
    if threshold is None:
        params, target = MinhashParams(), 0.8  # FineWeb's 14×8: steep around 0.72
    else:
        bands, rows = bands_for_threshold(threshold, 128)
        params, target = MinhashParams(bands=bands, rows=rows), threshold
        assert params.candidate_probability(threshold) >= 0.95
    sig_a = hash_texts(pa.array([p[0] for p in pairs]), params).signatures
    sig_b = hash_texts(pa.array([p[1] for p in pairs]), params).signatures
    truth = np.array([p[2] for p in pairs])
    keys_a = band_keys(sig_a, params.bands, params.rows)
    keys_b = band_keys(sig_b, params.bands, params.rows)
    candidate = (keys_a == keys_b).any(axis=1)

    above = truth >= target
    assert above.sum() >= 30 and (~above).sum() >= 30
    expected = np.array([params.candidate_probability(j) for j in truth[above]])
    slack = 3 * math.sqrt(np.sum(expected * (1 - expected))) / above.sum()
    assert candidate[above].mean() >= expected.mean() - slack - 0.02

    # verification (estimated Jaccard ≥ target − 2σ) keeps true pairs and drops far ones
    cut = target - 2 * math.sqrt(target * (1 - target) / params.num_perm)
    merged = candidate & (estimated_jaccard(sig_a, sig_b) >= cut)
    assert not merged[truth < target - 0.2].any()
    assert merged[truth >= target + 0.1].mean() >= 0.97


def test_signatures_agree_with_datasketch_on_real_text(pairs):
    """An independent MinHash (datasketch: SHA-1 of each shingle, its own permutations) over the
    same word 5-gram sets: both estimators are unbiased for the true Jaccard and agree with each
    other within their sampling error; datasketch's LSH with our bands × rows finds the same
    high-similarity pairs and ignores the same dissimilar ones."""
    from datasketch import MinHash, MinHashLSH

    from tests.dedup.dedup_corpus import words

    params = MinhashParams()  # FineWeb's 14 × 8 = 112 permutations

    def datasketch_minhash(text: str) -> MinHash:
        w = words(text)
        m = MinHash(num_perm=params.num_perm, seed=1)
        m.update_batch([" ".join(w[i:i + 5]).encode() for i in range(max(len(w) - 4, 1))])
        return m

    ours_a = hash_texts(pa.array([p[0] for p in pairs]), params).signatures
    ours_b = hash_texts(pa.array([p[1] for p in pairs]), params).signatures
    ours = estimated_jaccard(ours_a, ours_b)
    theirs_a, theirs_b = [datasketch_minhash(p[0]) for p in pairs], [datasketch_minhash(p[1]) for p in pairs]
    theirs = np.array([a.jaccard(b) for a, b in zip(theirs_a, theirs_b, strict=True)])
    truth = np.array([p[2] for p in pairs])
    sigma = np.sqrt(truth * (1 - truth) / params.num_perm)
    assert abs(np.mean(ours - truth)) < 0.015 and abs(np.mean(theirs - truth)) < 0.015
    assert np.mean(np.abs(ours - theirs)) < 2.5 * np.mean(sigma)  # two independent draws: √2·σ·√(2/π) ≈ 1.13σ
    assert np.corrcoef(ours, theirs)[0, 1] > 0.9

    lsh = MinHashLSH(num_perm=params.num_perm, params=(params.bands, params.rows))
    for i, m in enumerate(theirs_a):
        lsh.insert(f"a{i}", m)
    theirs_found = np.array([f"a{i}" in lsh.query(m) for i, m in enumerate(theirs_b)])
    ours_found = (band_keys(ours_a, params.bands, params.rows) == band_keys(ours_b, params.bands, params.rows)).any(axis=1)
    high, low = truth >= 0.85, truth < 0.55  # the S-curve at 14 × 8: P ≥ 0.97 above, ≤ 0.12 below
    assert high.sum() >= 20 and ours_found[high].mean() >= 0.95 and theirs_found[high].mean() >= 0.95
    assert low.sum() >= 10 and ours_found[low].mean() <= 0.2 and theirs_found[low].mean() <= 0.2
