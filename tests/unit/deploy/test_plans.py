from __future__ import annotations

from cove.domain.deploy import definition
from cove.domain.deploy.plans import Step, upgrade_plan

from .support import base


def test_nothing_changed_is_an_empty_plan() -> None:
    loaded = definition.load(base())
    assert upgrade_plan(loaded, loaded).steps == ()


def test_changes_follow_dependency_order_and_name_their_fields() -> None:
    old = base()
    new = base()
    new["services"]["web"]["image"] = "cove/app-web:2"
    new["services"]["db"]["env"] = {"A": "1"}
    new["tasks"]["schema"]["command"] = ["migrate", "--all"]
    new["templates"]["pw"] = "{{ db_password }}\n"
    new["services"]["api"]["replicas"] = 3
    plan = upgrade_plan(definition.load(old), definition.load(new))
    assert plan.steps == (
        Step("change", "service", "db", ("env", "config")),
        Step("change", "task", "schema", ("command",)),
        Step("change", "service", "api", ("replicas",)),
        Step("change", "service", "web", ("image",)),
    )


def test_removed_dependents_go_first_and_added_in_order() -> None:
    old = base()
    new = base()
    del new["services"]["web"]
    new["services"]["cache"] = {"image": "busybox", "health_check": {"test": "true"}}
    new["services"]["api"]["requires"].append({"service": "cache"})
    new["tasks"]["warm"] = {"image": "busybox", "requires": [{"service": "api"}]}
    plan = upgrade_plan(definition.load(old), definition.load(new))
    assert plan.names("remove") == ["web"]
    assert plan.names("add") == ["cache", "warm"]
    assert plan.steps[0] == Step("remove", "service", "web")
    assert plan.names("change") == ["api"]
    order = [step.name for step in plan.steps]
    assert order.index("cache") < order.index("api") < order.index("warm")


def test_a_service_turned_task_is_removed_and_added() -> None:
    old = base()
    new = base()
    new["tasks"]["web"] = {"image": "busybox"}
    del new["services"]["web"]
    plan = upgrade_plan(definition.load(old), definition.load(new))
    assert plan.steps == (Step("remove", "service", "web"), Step("add", "task", "web"))
