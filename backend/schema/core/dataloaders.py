"""Per-request DataLoaders (saleor's `core/dataloaders.py` is the model), for a synchronous
executor.

A resolver asks a loader for its key: `loaders(info)[RegionByCode].load(code)`. A key the
loader has already fetched is answered at once; any other comes back as a `Lazy`, and the
executor (mobile_api/graphql/execution.py) completes every field whose value is lazy after the
rest of the page has run, so one batch holds the keys of every row of the page, fetched in key
order by `batch_load`. Nothing has to be announced in advance.

Executed by another executor (graphql-core's own, in the tests that compare them), a registry
made with `eager=True` answers each key at once instead (one batch per key)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import select

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
L = TypeVar("L", bound="DataLoader")


class Lazy:
    """A value a loader will have once its batch ran."""

    __slots__ = ("_get",)

    def __init__(self, get: Callable[[], Any]) -> None:
        self._get = get

    def get(self) -> Any:
        return self._get()

    def then(self, function: Callable[[Any], Any]) -> Lazy:
        """A Lazy of `function(value)`; the function may itself return a Lazy."""
        return Lazy(lambda: function(self._get()))


def then(value: Any, function: Callable[[Any], Any]) -> Any:
    """`function(value)`, now or once a lazy value is there."""
    return value.then(function) if isinstance(value, Lazy) else function(value)


class DataLoader(Generic[K, V]):
    """Fetches values by key, a batch at a time; subclasses implement `batch_load`."""

    def __init__(self, context: Any, registry: Loaders) -> None:
        self.context = context
        self._registry = registry
        self._values: dict[K, V] = {}
        self._errors: dict[K, Exception] = {}
        self._queued: dict[K, None] = {}

    def batch_load(self, keys: Sequence[K]) -> Sequence[V]:
        """The values of `keys`, in key order (a missing one as None, or an empty list)."""
        raise NotImplementedError

    def prime(self, key: K, value: V) -> None:
        """A value the request already holds (a mutation's rows): not fetched again. A value
        fetched or primed before wins."""
        self._values.setdefault(key, value)

    def load(self, key: K | None) -> V | Lazy | None:
        if key is None:
            return None
        if key in self._values:
            return self._values[key]
        self._queued[key] = None
        if self._registry.eager:
            return self._value(key)
        self._registry.waiting(self)
        return Lazy(lambda: self._value(key))

    def _value(self, key: K) -> V:
        if key not in self._values and key not in self._errors:
            self.dispatch()
        if key in self._errors:
            raise self._errors[key]  # the batch failed: every key it held reports why
        return self._values[key]

    def dispatch(self) -> None:
        keys = list(self._queued)
        self._queued.clear()
        if not keys:
            return
        try:
            values = self.batch_load(keys)
        except Exception as error:  # noqa: BLE001 - raised again for each key
            self._errors.update(dict.fromkeys(keys, error))
            return
        self._values.update(zip(keys, values, strict=True))


class Loaders:
    """The loaders of one request, made on first use."""

    def __init__(self, context: Any, *, eager: bool = False) -> None:
        self._context = context
        self.eager = eager
        self._loaders: dict[type, DataLoader] = {}
        self._waiting: dict[DataLoader, None] = {}

    def __getitem__(self, loader_class: type[L]) -> L:
        loader = self._loaders.get(loader_class)
        if loader is None:
            loader = self._loaders[loader_class] = loader_class(self._context, self)
        return loader

    def waiting(self, loader: DataLoader) -> None:
        self._waiting[loader] = None

    def dispatch(self) -> None:
        """Run every batch that keys are waiting for."""
        waiting, self._waiting = list(self._waiting), {}
        for loader in waiting:
            loader.dispatch()


def loaders(info) -> Loaders:  # noqa: ANN001
    return info.context.loaders


class RowById(DataLoader):
    """Rows of one table by primary key; subclasses name the `model`."""

    model: Any = None

    def batch_load(self, ids: Sequence[int]) -> list:
        found = {row.id: row for row in self.context.session.scalars(
            select(self.model).where(self.model.id.in_(ids)))}
        return [found.get(key) for key in ids]
