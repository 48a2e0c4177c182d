"""Accounts: the principal of a request (from a verified Firebase ID token) and role grants."""
