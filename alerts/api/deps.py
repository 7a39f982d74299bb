"""The FastAPI dependencies every router shares: the alert services' deps, the API token, the
caller's name, the files directory."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alerts.deps import AlertDeps

DEFAULT_ACTOR = "api"
ACTOR_MAX = 100  # longer names are cut, as the change logs store at most this much

bearer = HTTPBearer(auto_error=False)


def get_deps(request: Request) -> AlertDeps:
    deps: AlertDeps = request.app.state.deps
    return deps


DepsDep = Annotated[AlertDeps, Depends(get_deps)]


def require_token(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """401 unless ``Authorization: Bearer`` carries the value of HERALD_API_TOKEN."""
    expected: str = request.app.state.api_token
    if creds is None or not secrets.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API token: send `Authorization: Bearer <token>` "
            "with the value of HERALD_API_TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )


def actor_name(
    header: Annotated[
        str | None,
        Header(
            alias="X-Herald-Actor",
            description="who makes the change, e.g. 'crm: agent 42' (default: api)",
        ),
    ] = None,
) -> str:
    """The caller's name for the change logs: ``X-Herald-Actor``, cut to 100 characters."""
    return (header or "").strip()[:ACTOR_MAX] or DEFAULT_ACTOR


ActorDep = Annotated[str, Depends(actor_name)]


def files_dir(request: Request) -> Path:
    """Where received files and recordings are kept (created on first use)."""
    path: Path = request.app.state.settings.files_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


FilesDirDep = Annotated[Path, Depends(files_dir)]
