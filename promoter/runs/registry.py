"""The run store a config's ``source.type`` names; stores are imported only when chosen."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

from promoter.errors import ConfigError

if TYPE_CHECKING:
    from promoter.runs.base import RunStore
    from promoter.settings import Settings

# type -> "module:factory"; a factory takes Settings and returns a RunStore. A new store is
# one module and one line here.
STORES: Final = {
    "guild": "promoter.runs.guild.store:open_guild_store",
    "mlflow": "promoter.runs.mlflow.store:open_mlflow_store",
}


def open_store(settings: Settings) -> RunStore:
    """The run store the settings point at."""
    kind = settings.config.source.type
    target = STORES.get(kind)
    if target is None:
        known = ", ".join(sorted(STORES))
        raise ConfigError(settings.config_origin, "source.type", f"{kind!r} is not one of {known}")
    module, _, name = target.partition(":")
    factory = getattr(importlib.import_module(module), name)
    store: RunStore = factory(settings)
    return store
