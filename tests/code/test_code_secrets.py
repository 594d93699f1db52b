"""Secrets and emails planted in real code are replaced; ordinary code is left alone."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from filters.code.secrets import redact

STDLIB = Path(sysconfig.get_paths()["stdlib"])

# real formats (fake values): each line must lose its secret
PLANTED = [
    ('AWS_ACCESS_KEY_ID = "AKIAZ7XK2LQ4N5P3R6TY"', "AKIAZ7XK2LQ4N5P3R6TY"),
    ('token = "ghp_4vR8kQ2mZ7xN1pL6tY3wB9cD5fG0hJ8sK2aE"', "ghp_4vR8kQ2mZ7xN1pL6tY3wB9cD5fG0hJ8sK2aE"),
    ('SLACK = "xoxb-248613579024-1357924680135-Zq8Xw2Ev4Rt6Yu8Io0Pa2Sd4"', "xoxb-248613579024-1357924680135-Zq8Xw2Ev4Rt6Yu8Io0Pa2Sd4"),
    ('stripe.api_key = "sk_live_51HqLmN8vX2kP4rT6yW8zB0cD2fG4hJ6k"', "sk_live_51HqLmN8vX2kP4rT6yW8zB0cD2fG4hJ6k"),
    ('DATABASE_URL = "postgres://admin:Tr0ub4dor3x@db.internal.prod:5432/app"', "Tr0ub4dor3x"),
    ('password = "correct-horse-battery-staple-42"', "correct-horse-battery-staple-42"),
    ('jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"',
     "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ('SENDGRID = "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"', "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
    ("# Maintainer: Jane Roe <jane.roe@fastmail.com>", "jane.roe@fastmail.com"),
]
KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n")


def test_planted_real_format_secrets_are_found():
    base = (STDLIB / "json" / "decoder.py").read_text()
    found = 0
    for line, secret in PLANTED:
        clean, counts = redact(base + "\n" + line + "\n", "settings.py")
        found += secret not in clean
    recall = found / len(PLANTED)
    assert recall >= 0.85, recall
    clean, counts = redact(base + KEY, "keys.py")
    assert "MIIEow" not in clean and counts["private_key"] == 1


def test_ordinary_code_and_documentation_addresses_stay():
    for path in ("json/decoder.py", "json/scanner.py", "json/tool.py"):
        text = (STDLIB / path).read_text()
        clean, counts = redact(text, path)
        assert clean == text and counts["secret"] == 0, (path, counts)
    text = 'url = "git@github.com:org/repo.git"\nsend("someone@example.com")\nget_password(user)\n'
    assert redact(text)[0] == text
