"""What the tests of each source share: its saved payloads, and parsing that names every bad
field."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Integration
from ingest.models import Alert
from ingest.sources import SOURCES, PayloadError

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SourceUnderTest:
    integration: Integration
    """Its ``type`` names the source, and the folder of its payloads."""

    @property
    def fixtures(self) -> Path:
        return PAYLOADS / self.integration.type

    def load(self, name: str) -> Any:
        return json.loads((self.fixtures / name).read_text())

    def parse(self, body: object) -> list[Alert]:
        return SOURCES[self.integration.type].parse(body, self.integration, NOW)

    def error_fields(self, body: object) -> set[str]:
        with pytest.raises(PayloadError) as raised:
            self.parse(body)
        return {error.field for error in raised.value.errors}
