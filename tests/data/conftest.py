"""Shared helpers for the caviar.data tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caviar.errors import CaviarError


def _raises_one_line(fn: Callable[[], Any], *parts: str) -> str:
    """Call ``fn``; assert it raises a one-line CaviarError containing every part."""
    with pytest.raises(CaviarError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message, message
    assert "Traceback" not in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


@pytest.fixture
def raises_one_line() -> Callable[..., str]:
    """``raises_one_line(fn, *parts)``: expect a single-line CaviarError naming ``parts``."""
    return _raises_one_line
