"""Policy versions, the consent ledger and the public privacy pages (F6). The service API is in
:mod:`huike.privacy.policy.service`; the HTTP gate for authenticated routes is
:func:`huike.privacy.policy.router.require_policy_acceptance`."""
