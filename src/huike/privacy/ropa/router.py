"""The record of processing activities for a signed-in tenant: JSON, and a CSV download for Excel.

It is built from the declarations on the models (the same for every tenant: it describes what Huike
processes, not anyone's values), labelled in the request's language (Accept-Language).
"""

from __future__ import annotations

from functools import cache

from fastapi import Response

from huike.core.errors import error_responses
from huike.core.i18n import current_locale
from huike.core.routing import make_router
from huike.privacy.inventory import Locale
from huike.privacy.ropa import service
from huike.privacy.ropa.schemas import InventoryRead
from huike.security.sessions import CurrentTenant

router = make_router(prefix="/api/v1/privacy", tag="inventory", responses=error_responses(401))


@cache
def _record(locale: Locale) -> InventoryRead:
    from huike.models import Base  # every model, so the record is complete

    return service.build(Base, locale)


@router.get("/inventory", response_model=InventoryRead)
async def get(ctx: CurrentTenant) -> InventoryRead:
    """Per table and column: category, subject, owner role, purposes with legal basis, retention,
    erasure action, encryption and storage region."""
    return _record(current_locale.get())


@router.get(
    "/inventory.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def csv(ctx: CurrentTenant) -> Response:
    """The same record as a CSV file: UTF-8 with a byte-order mark, header in the request's language."""
    locale = current_locale.get()
    return Response(
        content=service.render_csv(_record(locale)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="huike-inventory.csv"',
            "Content-Language": locale,
            "Cache-Control": "no-store",
        },
    )
