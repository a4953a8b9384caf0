"""The clock type every stage takes: time is passed in, never read below ``tocsin/``."""

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
