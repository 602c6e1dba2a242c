"""Shared settings of the fuzz tests (tests/test_fuzz_*.py).

`make test` runs a few hundred examples of each; `make fuzz` sets HYPOTHESIS_PROFILE=fuzz and runs
10,000 module cases and 10,000 requests. Hostile values every fuzzer mixes in are listed here.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ = os.environ.get("HYPOTHESIS_PROFILE", "") == "fuzz"

settings.register_profile(
    "nabij-test",
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("fuzz" if FUZZ else "nabij-test")


def examples(count_in_make_test: int) -> settings:
    """The settings for one fuzz test: `count_in_make_test` examples, or 10,000 under `make fuzz`."""
    return settings(PROFILE, max_examples=10_000 if FUZZ else count_in_make_test)


HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\r\nBcc: x@evil.example",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\ud7ff",
    "²",
    "١٢",
    "1²",
    "-1",
    "0",
    "00",
    "1e9",
    "2147483648",
    "9223372036854775808",
    "9" * 30,
    "%00",
    "%",
    "../../etc/passwd",
    "..\\..",
    "/",
    "//evil.example",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"',
    "{#x}",
    ":::",
    "---",
    "# kop",
    "*" * 500,
    "é" * 300,
    "🙂" * 100,
    "x" * 5000,
    "a@b",
    "x" * 250 + "@school.test",
    "A" * 60_000,
]
