"""Reading the world: one owner module per third-party reader (osmnx, rasterio, pyogrio)."""
