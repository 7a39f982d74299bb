"""The reports' JSON as the OpenAPI document declares it (what ``alerts.reports`` returns)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class RangeOut(_Out):
    first: str = Field(alias="from", description="first day, YYYY-MM-DD (UTC)")
    last: str = Field(alias="to", description="last day, included")


# --- funnel -------------------------------------------------------------------------------------


class FunnelFiltersOut(_Out):
    alert_type: str
    channel: str
    language: str
    segment: str
    group_by: str


class FunnelRowOut(_Out):
    alert_type: str = Field(description='the key, or "all" for the total')
    group: str = Field(description="the channel, language or segment; empty when not split")
    events: int | None = Field(description="events decided; null by channel")
    alerts: int
    sent: int
    delivered: int
    responded: int
    routed: int
    resolved: int
    skipped: int | None
    expired: int
    failed: int
    share_of_previous_step: dict[str, float | None]
    skip_reasons: dict[str, int]


class FunnelOut(_Out):
    range: RangeOut
    filters: FunnelFiltersOut
    steps: list[str]
    rows: list[FunnelRowOut]
    total: FunnelRowOut


# --- response rates -------------------------------------------------------------------------------


class ChannelRateOut(_Out):
    alert_type: str
    channel: str
    alerts_reached: int
    alerts_responded: int
    response_rate: float | None = Field(description="null behind too few alerts")
    too_few_alerts: bool
    median_seconds_to_respond: float | None
    p90_seconds_to_respond: float | None


class ResponseRatesOut(_Out):
    range: RangeOut
    alert_type: str
    min_alerts_for_a_rate: int
    channels: list[ChannelRateOut]
    rows: list[ChannelRateOut]


# --- delivery health ------------------------------------------------------------------------------


class OutcomeOut(_Out):
    channel: str
    status: str
    attempts: int


class FailureOut(_Out):
    channel: str
    error: str
    attempts: int


class LatencyOut(_Out):
    alert_type: str
    alerts: int
    p50: float | None
    p95: float | None
    p99: float | None


class EndingOut(_Out):
    alert_type: str
    alerts: int
    expired: int
    expired_share: float | None
    failed: int
    provider_retries: int


class DeliveryOut(_Out):
    range: RangeOut
    alert_type: str
    attempts: int
    failed_attempts: int
    retries: int
    fallbacks: int
    provider_retries: int
    outcomes: list[OutcomeOut]
    failures: list[FailureOut]
    seconds_from_event_to_first_attempt: list[LatencyOut]
    alerts: list[EndingOut]


# --- calls avoided --------------------------------------------------------------------------------


class PeriodOut(_Out):
    first: str | None = Field(alias="from")
    last: str | None = Field(alias="to")
    days: int
    calls: int
    events: int


class CallsAvoidedOut(_Out):
    alert_type: str
    live_from: str | None
    has_baseline: bool
    rate_per: str = Field(description='"1000 events" or "day"')
    before: PeriodOut
    after: PeriodOut
    calls_per_unit_before: float | None
    calls_per_unit_after: float | None
    expected_calls_after: float | None
    calls_avoided: float | None
    calls_avoided_95: list[float] | None
    small_numbers: bool
    saving: str | None = Field(description="a decimal amount, e.g. 600.00")
    saving_95: list[str] | None
    self_served_after: int
    linked_calls: int


class CallsReportOut(_Out):
    range: RangeOut
    cost_per_call: str
    imported_days: int
    imported_calls: int
    calls_not_linked_to_an_alert_type: int
    import_from: str | None
    import_to: str | None
    alert_types: list[CallsAvoidedOut]


class CallImportOut(_Out):
    filename: str
    rows: int
    imported: int
    replaced: int
    rejected: int
    errors: list[str] = Field(description="the first 50, by line number")


# --- customers' choices ---------------------------------------------------------------------------


class _Kinds(_Out):
    opted_out: int
    opted_in: int
    consent_withdrawn: int
    changed: int


class ChoiceDayOut(_Kinds):
    day: str


class ChoiceTypeOut(_Kinds):
    alert_type: str


class ChoiceActorOut(_Kinds):
    who: str


class ChoicesOut(_Out):
    range: RangeOut
    totals: _Kinds
    days: list[ChoiceDayOut]
    alert_types: list[ChoiceTypeOut]
    actors: list[ChoiceActorOut]


# --- hand-offs ------------------------------------------------------------------------------------


class QueueOut(_Out):
    queue: str = Field(description="the kind of hand-off: live_transfer, call_now, callback, task")
    handoffs: int
    completed: int
    abandoned: int
    abandoned_share: float | None
    abandoned_over_target: bool
    expired: int
    failed: int
    open: int
    answered: int
    answered_within_target: int
    answered_within_target_share: float | None
    median_seconds_to_answer: float | None
    mean_handle_seconds: float | None
    busiest_hour: str | None
    busiest_hour_handoffs: int
    agents_needed_in_busiest_hour: int | None = Field(description="Erlang C; live queues only")


class HandOffsOut(_Out):
    range: RangeOut
    target_answer_seconds: float
    service_level_target: float
    abandoned_target: float
    queues: list[QueueOut]


MODELS: dict[str, type[BaseModel]] = {
    "funnel": FunnelOut,
    "response-rates": ResponseRatesOut,
    "delivery": DeliveryOut,
    "calls-avoided": CallsReportOut,
    "choices": ChoicesOut,
    "handoffs": HandOffsOut,
}
