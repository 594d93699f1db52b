"""How well the scorers and the ensemble separate good from bad text, on real labelled sets we can show.

    python -m filters.quality.evaluate      -> models/evaluation.json (and a table on stdout)

No human good/bad labels are available here, so each set says what its labels are:
- en_reference_vs_boilerplate: held-out encyclopedia/news/book text + Python docs (never trained on)
  vs what trafilatura strips from real pages (menus, link lists, footers);
- en_fineweb_edu3_vs_edu0: held-out FineWeb pages Llama-3 scored >= 3 vs scored 0 (an independent
  LLM label; the edu scorer's own figure here is on pages it never saw);
- en_main_vs_boilerplate: a real page's main text vs its stripped boilerplate (held-out pages);
- zh_reference_vs_boilerplate: held-out Chinese reference text vs boilerplate of real Chinese pages;
- zh_chinesewebtext_clean_vs_dirty: ChineseWebText's 20 labelled documents (tiny).
Scores come from the stage's own scorers; buckets from the shipped reference calibration;
"mean" is the default ensemble (quality.weights), the others are the alternatives measured.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from filters.quality import calibration, corpus, ensemble
from filters.quality.config import QualityConfig
from filters.quality.train import REFERENCE, auc

SCORERS = ["gopher_quality", "gopher_repetition", "lines", "fasttext_quality", "edu", "perplexity"]
KEEP_FROM = 10   # tiers high..medium = ensemble bucket >= 10 (default tier ranges)


def labelled_sets() -> dict[str, tuple[list[corpus.Doc], list[corpus.Doc]]]:
    held_ref_en = corpus.docs(REFERENCE["en"], split="heldout") + corpus.docs(["python_docs"], split="heldout")
    boiler_en = [d for d in corpus.docs(["trafilatura_pages"], kind="boilerplate") if d.lang == "en"]
    fine = corpus.docs(["fineweb_edu"], split="heldout")
    pages = corpus.docs(["trafilatura_pages"], split="heldout")
    main_en = [d for d in pages if d.kind == "web" and d.lang == "en"]
    boiler_held = [d for d in pages if d.kind == "boilerplate" and d.lang == "en"]
    zh_ref = corpus.docs(REFERENCE["zh"], split="heldout")
    zh_boiler = corpus.docs(["zh_html_pages"], kind="boilerplate")
    labelled = corpus.chinese_labelled()
    clean = [corpus.Doc(f"cwt-{i}", t, "zh", "reference", "chinesewebtext_zh") for i, (lab, t) in enumerate(labelled) if lab == "clean"]
    dirty = [corpus.Doc(f"cwt-{i}", t, "zh", "web", "chinesewebtext_zh") for i, (lab, t) in enumerate(labelled) if lab != "clean"]
    return {"en_reference_vs_boilerplate": (held_ref_en, boiler_en),
            "en_fineweb_edu3_vs_edu0": ([d for d in fine if d.score >= 3], [d for d in fine if d.score == 0]),
            "en_main_vs_boilerplate": (main_en, boiler_held),
            "zh_reference_vs_boilerplate": (zh_ref, zh_boiler),
            "zh_chinesewebtext_clean_vs_dirty": (clean, dirty)}


def ensemble_buckets(scores: dict[str, np.ndarray], lang: str, samples: dict[str, calibration.Sample],
                     scorers: list[str], method: str, weights: dict[str, float] | None = None) -> np.ndarray:
    sample = samples[lang]
    names = [s for s in scorers if s in sample.scores]
    per = np.stack([ensemble.buckets(scores[s], sample.cut_points(s)) for s in names], axis=1)
    w = weights or {}
    combined = ensemble.combine(per, method, [w.get(s, 1.0) for s in names])
    if method == "max":
        return combined
    return ensemble.buckets(combined, sample.ensemble_cut_points(names, method, w))


def evaluate(score: Callable[[list[str], list[str]], dict[str, np.ndarray]],
             samples: dict[str, calibration.Sample] | None = None) -> dict:
    samples = samples or calibration.reference_samples(calibration.load_reference())
    out: dict = {}
    kept: dict[str, list] = {"good": [], "bad": []}
    for name, (good, bad) in labelled_sets().items():
        lang = good[0].lang
        texts = [d.text for d in good + bad]
        raw = score(texts, [lang] * len(texts))
        is_good = np.arange(len(texts)) < len(good)
        row = {"good": len(good), "bad": len(bad)}
        for s in SCORERS:
            if s in samples[lang].scores:
                row[s] = round(auc(raw[s][is_good], raw[s][~is_good]), 3)
        default_weights = QualityConfig().weights
        for method, scorers, weights in (("mean", SCORERS, default_weights), ("mean_unweighted", SCORERS, {}),
                                         ("vote", SCORERS, {}), ("max", SCORERS, {}),
                                         ("mean_models_only", ["fasttext_quality", "edu", "perplexity"], {})):
            b = ensemble_buckets(raw, lang, samples, scorers, method.split("_")[0], weights)
            row[f"ensemble_{method}"] = round(auc(b[is_good], b[~is_good]), 3)
            if method == "mean":
                kept["good"].append(b[is_good] >= KEEP_FROM)
                kept["bad"].append(b[~is_good] >= KEEP_FROM)
                row["kept_share_good"] = round(float((b[is_good] >= KEEP_FROM).mean()), 3)
                row["kept_share_bad"] = round(float((b[~is_good] >= KEEP_FROM).mean()), 3)
        out[name] = row
    return out


def main() -> int:
    from filters.quality import scorers

    result = evaluate(scorers.default_scores)
    path = calibration.DEFAULT_REFERENCE.parent / "evaluation.json"
    path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    for name, row in result.items():
        print(name, json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
