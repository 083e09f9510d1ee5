"""What every command prints: tables for people, JSON and YAML for scripts, one ``error:``
line and an exit code scripts can trust."""

from __future__ import annotations

from typing import Any

from tests.cli.conftest import Cove, unique


def test_list_table_names_every_object_with_a_header(cove: Cove, world: dict[str, str]) -> None:
    result = cove("template list")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["uuid", "name", "coe", "image_id", "server_type", "public"]
    rows = {line.split()[1]: line.split() for line in lines[2:]}
    assert {"tpl", "slow-tpl", "broken-tpl", "plain-tpl"} <= rows.keys()
    assert rows["tpl"][2:4] == ["swarm-mode", "instant-image"]
    assert not any(line != line.rstrip() for line in lines), "piped tables have no trailing blanks"
    assert result.stderr == ""


def test_show_table_is_field_and_value(cove: Cove, world: dict[str, str]) -> None:
    out = cove("template show tpl").stdout
    fields = dict(line.split(None, 1) for line in out.splitlines()[2:] if len(line.split()) > 1)
    assert fields["name"] == "tpl"
    assert fields["coe"] == "swarm-mode"
    assert fields["image_id"] == "instant-image"
    assert "links" not in fields  # API bookmarks are noise for people


def test_json_is_the_api_object_and_nothing_else(cove: Cove, world: dict[str, str]) -> None:
    result = cove("template show tpl -f json")
    body = result.json()
    assert body["name"] == "tpl"
    assert body["coe"] == "swarm-mode"
    assert "links" in body and "labels" in body
    listed = cove("template list -f json").json()
    assert isinstance(listed, list)
    assert body["uuid"] in {t["uuid"] for t in listed}


def test_yaml_parses_to_the_same_objects(cove: Cove, world: dict[str, str]) -> None:
    as_yaml = cove("flavor list -f yaml").yaml()
    as_json = cove("flavor list -f json").json()
    assert as_yaml == as_json
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large"} <= {f["name"] for f in as_yaml}


def test_columns_choose_fields_in_every_format(cove: Cove, world: dict[str, str]) -> None:
    assert cove("template show tpl -c name -c coe -f json").json() == {
        "name": "tpl",
        "coe": "swarm-mode",
    }
    table = cove("flavor list -c name -c ram").stdout.splitlines()
    assert table[0].split() == ["name", "ram"]
    assert "m1.small 2048" in [" ".join(line.split()) for line in table]
    listed: list[dict[str, Any]] = cove("flavor list -c name -f yaml").yaml()
    assert all(set(f) == {"name"} for f in listed)


def test_an_unknown_column_is_a_usage_error(cove: Cove, world: dict[str, str]) -> None:
    result = cove("template show tpl -c nosuch", code=2)
    assert "unknown column nosuch" in result.stderr
    assert "coe" in result.stderr  # lists what there is


def test_api_error_is_one_line_and_exit_1(cove: Cove) -> None:
    result = cove("cluster show no-such-cluster", code=1)
    assert result.stdout == ""
    assert result.error_lines() == ["error: Cluster no-such-cluster could not be found."]
    assert len(result.stderr.splitlines()) == 1


def test_validation_error_names_the_field(cove: Cove, world: dict[str, str]) -> None:
    result = cove(f"template create {unique('t')} --coe nosuch --image instant-image", code=1)
    (line,) = result.error_lines()
    assert "coe" in line and "swarm-mode" in line  # names the field and the allowed values
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2(cove: Cove) -> None:
    result = cove("cluster create", code=2)
    assert "Missing argument 'NAME'" in result.stderr


def test_unreachable_service_exits_3_naming_the_url(cove: Cove) -> None:
    result = cove("--url http://127.0.0.1:1/v1 cluster list", code=3)
    (line,) = result.error_lines()
    assert "cannot reach cove at http://127.0.0.1:1 " in line
    assert "cove serve" in line and "cove up" in line
    from_env = cove("template list", code=3, env={"COVE_URL": "http://127.0.0.1:1"})
    assert "http://127.0.0.1:1" in from_env.stderr


def test_url_with_or_without_v1(cove: Cove, world: dict[str, str]) -> None:
    for url in (cove.url, f"{cove.url}/v1", f"{cove.url}/v1/"):
        assert cove(f"--url {url} template show tpl -c name -f json").json() == {"name": "tpl"}


def test_unknown_label_warning_goes_to_stderr(cove: Cove, world: dict[str, str]) -> None:
    name = unique("t")
    result = cove(
        f"template create {name} --coe swarm-mode --image instant-image "
        "--labels flanel_backend=vxlan --labels auto_healing_enabled=true -f json"
    )
    assert result.json()["labels"] == {"flanel_backend": "vxlan", "auto_healing_enabled": "true"}
    assert "warning: labels not known for swarm-mode, no driver reads them: flanel_backend" in (
        result.stderr
    )
    cove(f"template delete {name}")


def test_help_documents_exit_codes_and_groups(cove: Cove) -> None:
    out = cove("--help").stdout
    for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n    {code}" in out
    for group in ("template", "cluster", "nodegroup", "ca", "quota", "stats", "service"):
        assert f"\n  {group} " in out
    assert "serve" in out and "COVE_URL" in out


def test_tables_print_values_as_they_are(cove: Cove, world: dict[str, str]) -> None:
    """No Rich markup or emoji codes read into values: a fingerprint's ``:ab:`` is not 🆎."""
    name = unique("lit")
    labels = "fp=83:ab:42:smile:,tag=[bold]x[/bold]"
    cove(f"template create {name} --image instant-image --coe swarm-mode --labels {labels}")
    out = cove(f"template show {name} -c labels").stdout
    assert "83:ab:42:smile:" in out and "[bold]x[/bold]" in out, out
    cove(f"template delete {name}")
