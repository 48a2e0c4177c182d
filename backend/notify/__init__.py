"""Notifications: the outbox written in the same transaction as the event that causes them."""
