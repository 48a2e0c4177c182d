"""Push providers, chosen by PUSH_PROVIDER. A new provider is a module and a line in
backend.config.PUSH_PROVIDERS; the dispatcher only knows the interface in base.py."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from backend.config import PUSH_PROVIDERS as PROVIDERS
from backend.config import Settings
from backend.notify.providers.base import Outcome, PushMessage, PushProvider, PushResult


def factory_of(name: str) -> Callable[[Settings], PushProvider]:
    """The factory PUSH_PROVIDERS names for a provider (its module imported now)."""
    module_name, _, factory_path = PROVIDERS[name].partition(":")
    factory = importlib.import_module(module_name)
    for part in factory_path.split("."):
        factory = getattr(factory, part)
    return factory


def make_provider(settings: Settings) -> PushProvider:
    return factory_of(settings.push_provider)(settings)


__all__ = ["Outcome", "PushMessage", "PushProvider", "PushResult", "PROVIDERS", "factory_of",
           "make_provider"]
