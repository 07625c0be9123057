"""Roles, permissions and row-level scope."""
