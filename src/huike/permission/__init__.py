"""Roles and permissions: the catalogue, built-in and custom roles, data scopes, and their enforcement."""
