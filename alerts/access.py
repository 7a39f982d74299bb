"""Who may do what: the one permission table (role -> capabilities) and the routes that are public.

Every admin page, form post and JSON API route declares the capability it needs with
``require(...)`` (``admin_ui.security.require_page`` / ``alerts.api.deps.require``); the routes
below in ``PUBLIC_ROUTES`` need none because a signed link or a provider signature protects
them. ``tests/api/test_access_matrix.py`` walks every registered route against this table, so a
new route with neither a rule nor a line here fails the suite.

To add a capability: name it in ``CAPABILITIES``, grant it to roles in ``PERMISSIONS``, and
require it on the routes it guards.
"""

from __future__ import annotations

from typing import Final

CAPABILITIES: Final = {
    "view": "read customers, alerts, hand-offs, ingestion, alert types and settings",
    "edit_drafts": "edit alert-type drafts (not yet sent to customers)",
    "publish": "publish alert types, restore versions, upload recordings",
    "edit_customers": "change customers, their preferences and consent",
    "call_centre": "set the call centre's hours and report its load",
    "ingest": "upload back-office files and retry quarantined records",
    "own_tokens": "create and revoke one's own personal API tokens",
    "manage_tokens": "see and revoke every user's API tokens",
    "manage_users": "create users, change roles, disable users, reset passwords",
    "audit": "read and export the audit log",
    "integrations": "subscribe the CRM to webhooks, read the delivery log, replay deliveries",
    "export": "export responses and hand-offs as CSV (personal data, for the CRM)",
    "reports": "read and export the reports (funnel, response rates, delivery, calls avoided)",
    "agent_console": "take, work and complete hand-offs in the agent console (/agent)",
    "any_queue": "take hand-offs of every queue, not only one's skills; see contacts unmasked",
    "supervise": "the supervisor board (/supervisor): live queues, pause voice, queue targets",
}

PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(CAPABILITIES),
    "publisher": frozenset({"view", "edit_drafts", "publish", "own_tokens", "reports"}),
    "editor": frozenset({"view", "edit_drafts", "own_tokens", "reports"}),
    "supervisor": frozenset(
        {
            "view",
            "edit_customers",
            "call_centre",
            "export",
            "own_tokens",
            "reports",
            "agent_console",
            "any_queue",
            "supervise",
        }
    ),
    "agent": frozenset({"view", "edit_customers", "own_tokens", "agent_console"}),
    "viewer": frozenset({"view", "own_tokens", "reports"}),
}
ROLES: Final = tuple(PERMISSIONS)  # admin first: the role `herald users create` defaults to

ROLE_WORDS: Final = {
    "admin": "Administrator: everything, including users and settings",
    "publisher": "Publisher: edits, publishes and restores alert types",
    "editor": "Editor: edits drafts of alert types",
    "supervisor": "Supervisor: call-centre hours, load and queues, the board, the agent console",
    "agent": "Agent: the agent console (their queues), customers' preferences",
    "viewer": "Viewer: reads everything, changes nothing",
}

# Routes anyone may call: customers' signed links, provider webhooks (signed by the provider),
# the recordings Twilio fetches (signed URLs), the login form, health and the API description.
PUBLIC_ROUTES: Final = {
    "/healthz": "health check",
    "/readyz": "readiness check (database, Redis, schema)",
    "/metrics": "metrics: a bearer token or loopback clients only (herald.metrics)",
    "/openapi.json": "API description",
    "/docs": "API description",
    "/docs/oauth2-redirect": "API description",
    "/redoc": "API description",
    "/admin/login": "the login form",
    "/p/{token}": "customer: preferences (signed link)",
    "/r/{token}": "customer: answer an alert (signed link)",
    "/r/f/{token}": "customer: forward an alert (signed link)",
    "/u/{token}": "customer: unsubscribe (signed link)",
    "/c/{token}": "customer: confirm consent (signed link)",
    "/media/recordings/{token}": "Twilio fetches a recording (signed URL)",
    "/webhooks/twilio/voice/{attempt_id}/twiml": "Twilio (signed request)",
    "/webhooks/twilio/voice/{attempt_id}/gather": "Twilio (signed request)",
    "/webhooks/twilio/voice/{attempt_id}/callback": "Twilio (signed request)",
    "/webhooks/twilio/voice/connect/{handoff_id}": "Twilio (signed request)",
    "/webhooks/twilio/voice/whisper/{handoff_id}": "Twilio (signed request)",
    "/webhooks/twilio/voice/transfer/{handoff_id}/done": "Twilio (signed request)",
    "/webhooks/twilio/voice/agent": "Twilio (signed request)",
    "/webhooks/twilio/voice/whisper-queue": "Twilio (signed request)",
    "/webhooks/twilio/{kind}/{attempt_id}/status": "Twilio (signed request)",
    "/webhooks/twilio/sms/inbound": "Twilio (signed request)",
}


def allowed(role: str, capability: str) -> bool:
    """True when `role` holds `capability`; an unknown role holds nothing."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}: add it to alerts.access.CAPABILITIES")
    return capability in PERMISSIONS.get(role, frozenset())


def capabilities(role: str) -> frozenset[str]:
    return PERMISSIONS.get(role, frozenset())
