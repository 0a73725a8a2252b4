"""Full syncs of a tenant's WeCom data across domains: ``huike sync``, the demo seed, the daily sync."""
