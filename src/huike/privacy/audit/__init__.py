"""The audit log (F4): append-only, pseudonymous, hash-chained. Domains call
:func:`huike.privacy.audit.service.record` inside their own transaction."""
