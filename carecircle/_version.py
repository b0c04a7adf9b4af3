"""The package version (one place; the root package and the road cache key read it)."""

__version__ = "0.1.0"
