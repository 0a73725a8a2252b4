"""The record of processing activities (RoPA, F1): built from the inventory declarations on the models,
checked by :mod:`.checks`, served at ``/api/v1/privacy/inventory`` and exported by ``huike inventory``."""
