"""The normalized alert: the one contract on the alert stream, whatever tool sent it."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dedup_key: str = Field(min_length=1, max_length=512)
    """Identity of the alert across repeats: the source's fingerprint or dedup key, else a
    stable hash of the labels (see ``ingest.fingerprint``)."""
    status: AlertStatus
    summary: str
    labels: dict[str, str] = Field(default_factory=dict)
    """Route and severity rules match these. Sources put their severity here too."""
    annotations: dict[str, str] = Field(default_factory=dict)
    integration: str
    """Name of the configured integration the webhook arrived on."""
    source: str
    """Format it arrived in: ``alertmanager``, ``generic``, ..."""
    origin: str | None = None
    """The system that raised it, when the source says (a host, a tool instance)."""
    generator_url: str | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    received_at: AwareDatetime

    @property
    def is_firing(self) -> bool:
        return self.status is AlertStatus.FIRING
