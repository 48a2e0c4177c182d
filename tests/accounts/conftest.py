"""Fixtures of the accounts tests: `token_factory` signs real ID tokens (tokens_helper)."""

from tests.accounts.tokens_helper import token_factory  # noqa: F401
