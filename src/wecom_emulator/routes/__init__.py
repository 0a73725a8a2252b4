"""``/cgi-bin`` endpoints, grouped like the spec's sections. Importing a module registers its
endpoints in ``wecom_emulator.api.REGISTRY``."""

from wecom_emulator.routes import auth, contacts, externalcontact, groups, tags, token, welcome

__all__ = ["auth", "contacts", "externalcontact", "groups", "tags", "token", "welcome"]
