"""Push providers, chosen by PUSH_PROVIDER. A new provider is a module and a line here; the
dispatcher only knows the interface in base.py."""

from __future__ import annotations

import importlib

from backend.config import Settings
from backend.notify.providers.base import Outcome, PushMessage, PushProvider, PushResult

# name → "module:factory"; imported on use (firebase-admin costs memory a web worker never needs).
PROVIDERS = {
    "log": "backend.notify.providers.log:LogProvider.from_settings",
    "fcm": "backend.notify.providers.fcm:FcmProvider.from_settings",
}


def make_provider(settings: Settings) -> PushProvider:
    module_name, _, factory_path = PROVIDERS[settings.push_provider].partition(":")
    factory = importlib.import_module(module_name)
    for part in factory_path.split("."):
        factory = getattr(factory, part)
    return factory(settings)


__all__ = ["Outcome", "PushMessage", "PushProvider", "PushResult", "PROVIDERS", "make_provider"]
