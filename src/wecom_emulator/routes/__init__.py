"""``/cgi-bin`` endpoints, grouped like the spec's sections. Importing a module registers its
endpoints in ``wecom_emulator.api.REGISTRY`` (and its settlers in ``wecom_emulator.timeline``)."""

from wecom_emulator.routes import (
    auth,
    contact_way,
    contacts,
    externalcontact,
    groupmsg,
    groups,
    media,
    moments,
    statistics,
    tags,
    token,
    transfer,
    welcome,
)

__all__ = [
    "auth",
    "contact_way",
    "contacts",
    "externalcontact",
    "groupmsg",
    "groups",
    "media",
    "moments",
    "statistics",
    "tags",
    "token",
    "transfer",
    "welcome",
]
