"""Weigh-in Service: stock, drafts and approvals for a paint-shop warehouse."""

__version__ = "0.1.0"
