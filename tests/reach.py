"""Comparing what a search reached within a limit with networkx's answer."""

from __future__ import annotations

import pytest

# Times are sums of the same arcs in another order (from a chain's end, not from the source),
# so they may differ from networkx's in the last bits; a node that close to the limit may fall
# on either side of it.
ROUNDING = 1e-9


def assert_same_reach(got: dict[int, float], want: dict[int, float], limit: float) -> None:
    """``got`` and ``want`` (node -> seconds within ``limit``) agree but at the limit itself."""
    for node in set(got) ^ set(want):
        t = got.get(node, want.get(node))
        assert t is not None and abs(t - limit) <= ROUNDING, (node, got.get(node), want.get(node))
    for node in set(got) & set(want):
        assert got[node] == pytest.approx(want[node], abs=ROUNDING)
