"""carecircle: planner for the elderly-care service network of Chinese counties.

Scores the 15-minute elderly-service circle, finds gaps against county targets, recommends sites
for regional nursing homes with exact optimisation, checks allocation plans, and publishes offline
coverage maps. See README.md for the architecture.
"""

from __future__ import annotations

import logging

from carecircle import engine
from carecircle.errors import CareCircleError

__all__ = ["CareCircleError", "__version__", "engine"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
