"""``/api/v1/destinations``: named broker destinations (see :mod:`gnomon.destinations`).

GET lists them (``read``); PUT ``/{name}`` creates or replaces one and DELETE removes one
(``admin``: a destination decides where every job naming it sends). URL passwords are masked
in every response; a destination set in ``GNOMON_DESTINATIONS`` is listed but cannot be
changed here (422).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from gnomon import service
from gnomon.api.auth import Principal, need
from gnomon.api.context import context
from gnomon.api.problems import responses
from gnomon.api.schemas import Strict
from gnomon.service import Scope

router = APIRouter(prefix="/api/v1/destinations", tags=["destinations"])
READ, ADMIN = Depends(need(Scope.READ)), Depends(need(Scope.ADMIN))
Name = Path(min_length=1, max_length=100, description="The destination's name.")
NameText = Field(default=None, min_length=1, max_length=255)


class DestinationIn(Strict):
    url: str = Field(min_length=1, max_length=2000, examples=["amqp://user:pass@rabbit:5672//"])
    exchange: str | None = NameText
    queue: str | None = NameText
    routing_key: str | None = NameText


class DestinationOut(BaseModel):
    name: str
    url: str = Field(description="The broker URL, its password masked.")
    exchange: str | None
    queue: str | None
    routing_key: str | None
    source: str = Field(description="`database` or `settings` (GNOMON_DESTINATIONS, wins).")


@router.get("", response_model=list[DestinationOut], responses=responses(401, 403, 429, 503))
def list_destinations(request: Request, who: Principal = READ) -> list[DestinationOut]:
    """Every named destination, by name."""
    found = service.list_destinations(context(request).scheduler)
    return [DestinationOut(**d.to_json()) for d in found]


@router.put(
    "/{name}",
    response_model=DestinationOut,
    responses={
        201: {"model": DestinationOut, "description": "Created."},
        **responses(401, 403, 422, 429, 503),
    },
)
def put_destination(
    request: Request,
    response: Response,
    body: DestinationIn,
    name: str = Name,
    who: Principal = ADMIN,
) -> DestinationOut:
    """Create (201) or replace (200) a destination; jobs naming it follow from their next run."""
    ctx = context(request)
    dest, created = service.put_destination(
        ctx.scheduler,
        name,
        body.url,
        exchange=body.exchange,
        queue=body.queue,
        routing_key=body.routing_key,
    )
    shown = dest.to_json()
    action = "destination.create" if created else "destination.replace"
    ctx.audit(request, who, action, f"destination:{name}", {"after": shown})
    response.status_code = 201 if created else 200
    return DestinationOut(**shown)


@router.delete(
    "/{name}",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def delete_destination(request: Request, name: str = Name, who: Principal = ADMIN) -> Response:
    """Remove a destination; jobs naming it fail their runs until it is added again."""
    ctx = context(request)
    service.remove_destination(ctx.scheduler, name)
    ctx.audit(request, who, "destination.remove", f"destination:{name}")
    return Response(status_code=204)
