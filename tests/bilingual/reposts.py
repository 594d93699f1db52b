"""Reposts of real articles as a second site would publish them: reformatted, not rewritten.

The same transformations for Chinese and English (each in its own script's conventions): lines
re-wrapped, punctuation swapped between full-width/half-width (Chinese) or curly/straight quotes
(English), spaces put between Chinese and Latin letters or digits, a site header (source, editor,
date) and footer (share links, copyright) added, and on longer articles the last paragraph cut.
"""

from __future__ import annotations

import random
import re

ZH_WIDTH = str.maketrans({"，": ",", "。": ".", "：": ":", "；": ";", "！": "!", "？": "?", "（": "(", "）": ")"})
EN_QUOTES = str.maketrans({'"': "“", "'": "’"})
ZH_SITES = ["新浪新闻", "网易新闻", "腾讯网", "凤凰网", "澎湃新闻", "搜狐"]
EN_SITES = ["Daily Courier", "The Herald", "News Wire", "Metro Post", "City Times", "Global Report"]


def _rewrap(paragraphs: list[str], width: int, joiner: str) -> list[str]:
    """Join all paragraphs, cut again every `width` characters at the next space/punctuation."""
    text, out, start = joiner.join(paragraphs), [], 0
    while start < len(text):
        end = min(len(text), start + width)
        while end < len(text) and not re.match(r"[\s，。,.!?！？]", text[end]):
            end += 1
        out.append(text[start:end + 1].strip())
        start = end + 1
    return [line for line in out if line]


def repost(text: str, language: str, rng: random.Random) -> str:
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    if len(paragraphs) >= 6:
        paragraphs = paragraphs[:-1]
    if language == "zh":
        site, day = rng.choice(ZH_SITES), rng.randrange(1, 29)
        paragraphs = [p.translate(ZH_WIDTH) if rng.random() < 0.5 else p for p in paragraphs]
        paragraphs = [re.sub(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u4e00-\u9fff])", " ", p)
                      for p in paragraphs]
        body = _rewrap(paragraphs, rng.randrange(60, 120), "")
        header = [f"来源：{site}  2022年3月{day}日", f"编辑：{rng.choice('王李张刘陈')}{rng.choice('明华伟芳')}"]
        footer = ["分享到：微信 微博 QQ空间", f"（责任编辑：{rng.choice('赵孙周吴')}{rng.choice('磊静强丽')}）",
                  f"版权所有 © {site} 未经授权禁止转载"]
    else:
        site, day = rng.choice(EN_SITES), rng.randrange(1, 29)
        paragraphs = [p.translate(EN_QUOTES) if rng.random() < 0.5 else p for p in paragraphs]
        body = _rewrap(paragraphs, rng.randrange(60, 120), " ")
        header = [f"Source: {site} | March {day}, 2022", f"Editor: {rng.choice(['A. Smith', 'J. Lee', 'M. Brown'])}"]
        footer = ["Share this: Twitter Facebook Email", f"(Edited by {rng.choice(['K. Jones', 'P. White'])})",
                  f"Copyright © {site}. All rights reserved."]
    return "\n".join(header + body + footer)
