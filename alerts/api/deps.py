"""The FastAPI dependencies every router shares: the alert services' deps, who is calling (a
personal token or the shared one) and what they may do, the caller's name, the files directory."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alerts import audit
from alerts.access import CAPABILITIES, allowed
from alerts.deps import AlertDeps
from alerts.tokens import authenticate_token

logger = logging.getLogger(__name__)

SHARED_TOKEN_USER = "shared-token"
DEFAULT_ACTOR = SHARED_TOKEN_USER
ACTOR_MAX = 100  # longer names are cut, as the change logs store at most this much
HEADER_MAX = 1000  # a free-text header's bound in the schema (cut further where it is stored)

bearer = HTTPBearer(auto_error=False)
_warned_shared: list[bool] = []  # the deprecation warning, once per process


def get_deps(request: Request) -> AlertDeps:
    deps: AlertDeps = request.app.state.deps
    return deps


DepsDep = Annotated[AlertDeps, Depends(get_deps)]


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """Who sent this API request: a user through a personal token, or the shared token."""

    username: str
    role: str
    token_name: str | None  # None: the shared HERALD_API_TOKEN

    @property
    def shared(self) -> bool:
        return self.token_name is None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _unauthorised() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong API token: send `Authorization: Bearer <token>` with a personal "
        "token (admin UI: My API tokens) or the value of HERALD_API_TOKEN",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def api_caller(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ApiCaller:
    """401 unless ``Authorization: Bearer`` carries a live personal token or, when one is
    configured, the shared HERALD_API_TOKEN."""
    if creds is None or not creds.credentials:
        raise _unauthorised()
    secret = creds.credentials
    shared: str = request.app.state.api_token
    if shared and secrets.compare_digest(secret.encode(), shared.encode()):
        if not _warned_shared:
            _warned_shared.append(True)
            logger.warning(
                "the shared HERALD_API_TOKEN is deprecated: create a personal token per user "
                "or integration (admin UI, My API tokens) and unset HERALD_API_TOKEN"
            )
        caller = ApiCaller(username=SHARED_TOKEN_USER, role="admin", token_name=None)
    else:
        async with get_deps(request).sessions() as session:
            found = await authenticate_token(session=session, secret=secret)
        if found is None:
            raise _unauthorised()
        caller = ApiCaller(username=found.username, role=found.role, token_name=found.token_name)
    audit.set_origin(
        audit.Origin(
            actor=caller.username,
            role=caller.role,
            via="shared token" if caller.shared else f"token: {caller.token_name}",
            ip=client_ip(request),
        )
    )
    return caller


ApiCallerDep = Annotated[ApiCaller, Depends(api_caller)]


def require(capability: str) -> Callable[[ApiCaller], Awaitable[ApiCaller]]:
    """A dependency: 401 without a valid token, 403 unless the caller's role holds
    `capability` (alerts.access.PERMISSIONS)."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")

    async def check(caller: ApiCallerDep) -> ApiCaller:
        if not allowed(caller.role, capability):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{caller.username} ({caller.role}) may not do this: it needs the "
                f"{capability!r} permission",
            )
        return caller

    check.capability = capability  # type: ignore[attr-defined]  # read by the route matrix test
    return check


require_token = require("view")  # read access: every router's floor


def actor_name(
    caller: ApiCallerDep,
    header: Annotated[
        str | None,
        Header(
            alias="X-Herald-Actor",
            max_length=HEADER_MAX,
            description="with the shared token only: who makes the change, e.g. "
            "'crm: agent 42' (default: shared-token); a personal token acts as its user",
        ),
    ] = None,
) -> str:
    """The caller's name for the change logs: a personal token's user; with the shared token,
    ``X-Herald-Actor`` (cut to 100 characters) or ``shared-token``."""
    if not caller.shared:
        return caller.username
    return (header or "").strip()[:ACTOR_MAX] or DEFAULT_ACTOR


ActorDep = Annotated[str, Depends(actor_name)]


def files_dir(request: Request) -> Path:
    """Where received files and recordings are kept (created on first use)."""
    path: Path = request.app.state.settings.files_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


FilesDirDep = Annotated[Path, Depends(files_dir)]


# Every value a client sends is bounded in the OpenAPI document, so that what reaches SQL fits
# its column and schemathesis can hold the server to the document (tests/api/test_openapi_bounds).
MAX_ID = 2**31 - 1  # id columns are 32-bit integers: a larger value must never reach SQL
KEY_MAX = 64  # alert type, queue, centre and adapter keys (the columns are 64 or shorter)
REF_MAX = 100  # the company's customer reference (Customer.external_ref)
IdPath = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a row id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a row id")]
KeyPath = Annotated[str, PathParam(min_length=1, max_length=KEY_MAX, description="a key")]
RefPath = Annotated[
    str,
    PathParam(min_length=1, max_length=REF_MAX, description="the customer's external reference"),
]
UsernamePath = Annotated[str, PathParam(min_length=1, max_length=100, description="a user name")]
