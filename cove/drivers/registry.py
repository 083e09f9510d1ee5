"""The driver registry: built once at start-up from the ``cove.drivers`` entry-point group
and ``Settings.extra_drivers``, then passed to whoever needs it. Each driver is constructed
with its provider (its class's ``provider_kind``, default ``docker``): drivers never import a
concrete provider."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from cove.drivers.base import Driver, DriverKey
from cove.providers.base import Provider

# The provider of a kind ("docker", "memory"), made on first use.
ProviderSource = Callable[[str], Provider]


class NoDriver(LookupError):
    def __init__(self, key: DriverKey | str) -> None:
        if isinstance(key, DriverKey):
            text = f"Cluster type {key} not supported: no driver serves it."
        else:
            text = f"Cluster driver ({key}) not supported."
        super().__init__(text)
        self.key = key


class DriverRegistry:
    def __init__(self, drivers: Iterable[Driver] = ()) -> None:
        self._by_key: dict[DriverKey, Driver] = {}
        self._by_name: dict[str, Driver] = {}
        for driver in drivers:
            self.add(driver)

    def add(self, driver: Driver) -> None:
        self._by_name[driver.name] = driver
        for key in driver.provides:
            self._by_key[key] = driver

    def providers(self) -> list[Provider]:
        """The distinct providers the drivers were given."""
        found: dict[int, Provider] = {}
        for driver in self._by_name.values():
            provider = getattr(driver, "provider", None)
            if provider is not None:
                found[id(provider)] = provider
        return list(found.values())

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def find_by_name(self, name: str) -> Driver:
        if name not in self._by_name:
            raise NoDriver(name)
        return self._by_name[name]

    def find(self, key: DriverKey, name: str | None = None) -> Driver:
        if name:
            if name not in self._by_name:
                raise NoDriver(name)
            return self._by_name[name]
        if key not in self._by_key:
            raise NoDriver(key)
        return self._by_key[key]


def load_object(path: str) -> object:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def build_registry(
    extra: Iterable[str] = (), providers: ProviderSource | None = None
) -> DriverRegistry:
    from cove.providers.registry import ProviderSet

    source = providers or ProviderSet()
    registry = DriverRegistry()
    factories = [ep.load() for ep in entry_points(group="cove.drivers")]
    factories += [load_object(path) for path in extra]
    for factory in factories:
        kind = getattr(factory, "provider_kind", None)
        driver = factory(source(kind)) if kind else factory()
        registry.add(driver)
    return registry
