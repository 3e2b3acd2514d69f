"""The action's edge: inputs, the $GITHUB_OUTPUT format, workflow commands and the step summary,
checked against parsers that follow the runner's own (actions/runner, Linux)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.errors import UsageError
from promoter.hosts.github_actions.runner_io import (
    BAD_BOOLEAN,
    BAD_FORGE,
    BAD_RUN_ID,
    INPUT_NAMES,
    SUMMARY_LIMIT,
    SUMMARY_TRUNCATED,
    ActionInputs,
    append_file,
    endgroup,
    error,
    escape_data,
    escape_property,
    format_outputs,
    group,
    input_env_name,
    mask,
    parse_bool,
    parse_inputs,
    resume_commands,
    stop_commands,
    summary_text,
    valid_run_id,
    warning,
)
from promoter.triggers.commands import open_fences
from tests.promotion import read_output_file

ACTION_YML = Path(__file__).resolve().parents[1] / "action.yml"
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"


# --- parsers that follow the runner ------------------------------------------------------------


def read_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command line as the runner's ``ActionCommand.TryParseV2`` reads it."""
    line = line.lstrip()
    assert line.startswith("::")
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2 :]
    name, _, props = info.partition(" ")
    properties: dict[str, str] = {}
    for pair in props.strip().split(","):
        key, _, value = pair.partition("=")
        if key and value:
            for token, escaped in [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C")]:
                value = value.replace(escaped, token)
            properties[key] = value.replace("%25", "%")
    for token, escaped in [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]:
        data = data.replace(escaped, token)
    return name, properties, data


# --- inputs --------------------------------------------------------------------------------------


def test_input_names_and_their_variables() -> None:
    assert INPUT_NAMES == ("config", "guild-home", "forge", "token", "dry-run", "run", "objective")
    assert input_env_name("guild-home") == "INPUT_GUILD-HOME"
    assert input_env_name("dry-run") == "INPUT_DRY-RUN"
    assert input_env_name("my input") == "INPUT_MY_INPUT"


def test_action_yml_declares_exactly_the_inputs_read() -> None:
    if not ACTION_YML.exists():
        pytest.skip("no action.yml")
    declared = (yaml.safe_load(ACTION_YML.read_text(encoding="utf-8")) or {}).get("inputs")
    if not declared:
        pytest.skip("action.yml declares no inputs yet")
    assert sorted(declared) == sorted(INPUT_NAMES)


def test_defaults() -> None:
    assert parse_inputs({}) == ActionInputs()
    assert parse_inputs({}) == ActionInputs(
        config=None,
        guild_home=None,
        forge="github",
        token=None,
        dry_run=False,
        run=None,
        objective=None,
    )


def test_every_input() -> None:
    env = {
        "INPUT_CONFIG": ".github/promoter.yml",
        "INPUT_GUILD-HOME": "/runner/guild home",
        "INPUT_FORGE": "local",
        "INPUT_TOKEN": f" {TOKEN}\n",
        "INPUT_DRY-RUN": "True",
        "INPUT_RUN": "3F2A9C1B",
        "INPUT_OBJECTIVE": " min val_loss ",
    }
    assert parse_inputs(env) == ActionInputs(
        config=".github/promoter.yml",
        guild_home="/runner/guild home",
        forge="local",
        token=TOKEN,
        dry_run=True,
        run="3f2a9c1b",
        objective="min val_loss",
    )


def test_empty_inputs_are_unset() -> None:
    env = {f"INPUT_{name.upper()}": "" for name in INPUT_NAMES}
    assert parse_inputs(env) == ActionInputs()


def test_underscored_names_are_not_read() -> None:
    """The runner keeps the hyphen; an underscored variable is someone else's."""
    inputs = parse_inputs({"INPUT_GUILD_HOME": "/x", "INPUT_DRY_RUN": "true"})
    assert inputs.guild_home is None and inputs.dry_run is False


@pytest.mark.parametrize(
    ("env", "token"),
    [
        ({"INPUT_TOKEN": TOKEN, "GITHUB_TOKEN": "other"}, TOKEN),
        ({"INPUT_TOKEN": "", "GITHUB_TOKEN": TOKEN}, TOKEN),
        ({"GITHUB_TOKEN": TOKEN}, TOKEN),
        ({"GITHUB_TOKEN": "  "}, None),
    ],
)
def test_token_falls_back_on_github_token(env: dict[str, str], token: str | None) -> None:
    assert parse_inputs(env).token == token


def test_the_token_is_not_in_the_repr() -> None:
    inputs = parse_inputs({"INPUT_TOKEN": TOKEN})
    assert TOKEN not in repr(inputs) and TOKEN not in str(inputs)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        (" true\n", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("", False),
    ],
)
def test_yaml_core_booleans(text: str, value: bool) -> None:
    assert parse_bool(text, "dry-run") is value
    assert parse_inputs({"INPUT_DRY-RUN": text}).dry_run is value


@pytest.mark.parametrize("text", ["yes", "no", "on", "1", "0", "tRue", "y", "truee", "x" * 200])
def test_other_booleans_are_refused_by_name(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_inputs({"INPUT_DRY-RUN": text})
    assert str(raised.value).startswith("input dry-run: ")
    assert len(str(raised.value)) < len(BAD_BOOLEAN) + 80


def test_parse_bool_names_its_input() -> None:
    with pytest.raises(UsageError) as raised:
        parse_bool("yes", "dry_run")
    assert str(raised.value) == BAD_BOOLEAN.format(name="dry_run", value="'yes'")


@pytest.mark.parametrize(
    ("text", "forge"), [("github", "github"), ("GitLab", "gitlab"), ("local", "local")]
)
def test_forges(text: str, forge: str) -> None:
    assert parse_inputs({"INPUT_FORGE": text}).forge == forge


@pytest.mark.parametrize("text", ["bitbucket", "git hub", "githubx"])
def test_unknown_forge(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_inputs({"INPUT_FORGE": text})
    assert str(raised.value) == BAD_FORGE.format(value=repr(text))


@pytest.mark.parametrize("text", ["$(rm -rf /)", "../x", "abc", "main;ls", "a" * 33, "3f2a 9c1b"])
def test_bad_run_input(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_inputs({"INPUT_RUN": text})
    assert str(raised.value) == BAD_RUN_ID.format(name="run", value=repr(text))


def test_valid_run_id() -> None:
    assert valid_run_id(" ABCD\n", "run") == "abcd"
    with pytest.raises(UsageError, match="input run: 'xyz1' is not a run id"):
        valid_run_id("xyz1", "run")


# --- outputs -------------------------------------------------------------------------------------


def delimiters(*values: str) -> Iterator[str]:
    yield from values


def test_single_line_outputs() -> None:
    text = format_outputs({"decision": "promoted", "run-id": "3f2a", "pr-url": "", "a_b": "x=y<<z"})
    assert text == "decision=promoted\nrun-id=3f2a\npr-url=\na_b=x=y<<z\n"
    assert read_output_file(text) == {
        "decision": "promoted",
        "run-id": "3f2a",
        "pr-url": "",
        "a_b": "x=y<<z",
    }


def test_multi_line_outputs() -> None:
    text = format_outputs({"body": "a\nb\n"}, new_delimiter=lambda: "ghadelimiter_1")
    assert text == "body<<ghadelimiter_1\na\nb\n\nghadelimiter_1\n"
    assert read_output_file(text) == {"body": "a\nb\n"}


def test_a_lone_carriage_return_uses_a_heredoc() -> None:
    text = format_outputs({"x": "a\rb"}, new_delimiter=lambda: "D")
    assert text == "x<<D\na\rb\nD\n"
    assert read_output_file(text) == {"x": "a\rb"}


def test_the_delimiter_never_occurs_in_the_value() -> None:
    made = delimiters("ghadelimiter_1", "ghadelimiter_2")
    text = format_outputs({"x": "a\nghadelimiter_1\nb"}, new_delimiter=lambda: next(made))
    assert text.startswith("x<<ghadelimiter_2\n")
    assert read_output_file(text) == {"x": "a\nghadelimiter_1\nb"}


def test_random_delimiters() -> None:
    text = format_outputs({"x": "a\nb"})
    assert re.fullmatch(r"x<<(ghadelimiter_[0-9a-f-]{36})\na\nb\n\1\n", text)


@pytest.mark.parametrize("name", ["", "a b", "a=b", "a<<b", "é", "a\nb", "a.b"])
def test_bad_output_names(name: str) -> None:
    with pytest.raises(ValueError, match="output name"):
        format_outputs({name: "x"})


_NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)


@given(st.dictionaries(_NAMES, st.text()))
def test_outputs_round_trip(outputs: dict[str, str]) -> None:
    assert read_output_file(format_outputs(outputs)) == outputs


@given(st.text(alphabet="ab\n\r_", max_size=30))
def test_outputs_round_trip_with_colliding_delimiters(value: str) -> None:
    made = iter(["a", "b", "_", "ab", "ba", "ghadelimiter_x", "ghadelimiter_y"])
    text = format_outputs({"v": value}, new_delimiter=lambda: next(made))
    assert read_output_file(text) == {"v": value}


def test_append_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    append_file(path, "a=é\r\n")
    append_file(str(path), format_outputs({"b": "x\ny"}))
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("a=é\r\nb<<ghadelimiter_")
    assert read_output_file(text)["b"] == "x\ny"


# --- workflow commands ---------------------------------------------------------------------------


def test_commands() -> None:
    assert group("promoter: reading the event") == "::group::promoter: reading the event"
    assert endgroup() == "::endgroup::"
    assert error("boom") == "::error::boom"
    assert warning("50% done\nnext", title="a: b, c") == (
        "::warning title=a%3A b%2C c::50%25 done%0Anext"
    )
    assert error("n", title="t", file="src/a,b.py", line=3) == (
        "::error title=t,file=src/a%2Cb.py,line=3::n"
    )
    assert error("e", file="f.py") == "::error file=f.py::e"


def test_a_property_cannot_forge_another() -> None:
    line = error("msg", title="x,line=1,title=CI PASSED", file="a::b")
    assert read_command(line) == (
        "error",
        {"title": "x,line=1,title=CI PASSED", "file": "a::b"},
        "msg",
    )


def test_mask() -> None:
    assert mask(TOKEN) == f"::add-mask::{TOKEN}"
    assert mask("50%\r\nsecret") == "::add-mask::50%25\n::add-mask::secret"
    key = "-----BEGIN KEY-----\n  abc  \n\n-----END KEY-----\n"
    assert mask(key).splitlines() == [
        "::add-mask::-----BEGIN KEY-----",
        "::add-mask::abc",
        "::add-mask::-----END KEY-----",
    ]
    assert mask("") == "" and mask(" \n ") == ""


def test_stop_commands() -> None:
    assert stop_commands("pause-3f2a") == "::stop-commands::pause-3f2a"
    assert resume_commands("pause-3f2a") == "::pause-3f2a::"
    for bad in ["", "a::b", "a b"]:
        with pytest.raises(ValueError):
            stop_commands(bad)
        with pytest.raises(ValueError):
            resume_commands(bad)


@given(st.text(), st.text(), st.text(), st.integers(min_value=1))
def test_commands_round_trip(message: str, title: str, file: str, line: int) -> None:
    for build, kind in [(error, "error"), (warning, "warning")]:
        command = build(message, title=title, file=file, line=line)
        assert "\n" not in command and "\r" not in command
        name, properties, data = read_command(command)
        assert name == kind and data == message
        assert properties == {
            key: value for key, value in {"title": title, "file": file}.items() if value
        } | {"line": str(line)}


@given(st.text())
def test_escaping_round_trips(text: str) -> None:
    assert read_command(group(text)) == ("group", {}, text)
    assert "\n" not in escape_data(text) and "\r" not in escape_data(text)
    assert not set(":,\r\n") & set(escape_property(text))


@given(st.text())
def test_every_masked_line_is_unescaped_by_the_runner(secret: str) -> None:
    commands = mask(secret)
    wanted = [line.strip() for line in re.split(r"\r\n|\r|\n", secret) if line.strip()]
    got = [read_command(line)[2] for line in commands.split("\n")] if commands else []
    assert got == wanted


# --- the step summary ----------------------------------------------------------------------------


def size(text: str) -> int:
    return len(text.encode())


def test_a_summary_that_fits_is_unchanged() -> None:
    body = "# promoted\n\n| a | b |\n|---|---|\n"
    assert summary_text(body) == body
    assert summary_text("é" * 10, limit=20) == "é" * 10


def test_a_long_summary_is_cut_at_a_line() -> None:
    body = "".join(f"| row {i} | {'é' * 50} |\n" for i in range(40_000))
    assert size(body) > SUMMARY_LIMIT
    text = summary_text(body)
    assert size(text) <= SUMMARY_LIMIT
    assert text.endswith(SUMMARY_TRUNCATED)
    head = text.removesuffix(SUMMARY_TRUNCATED)
    assert body.startswith(head) and head.endswith("|\n")
    assert size(head) > SUMMARY_LIMIT - size(SUMMARY_TRUNCATED) - size(body.split("\n")[0]) - 1


def test_a_cut_inside_a_code_block_closes_it() -> None:
    body = "intro\n\n````text\n" + "".join(f"line {i}\n" for i in range(100)) + "````\nafter\n"
    text = summary_text(body, limit=600)
    assert size(text) <= 600
    head = text.removesuffix(SUMMARY_TRUNCATED)
    assert head.endswith("\n````\n")
    assert body.startswith(head.removesuffix("````\n"))


def test_a_cut_inside_details_closes_them() -> None:
    rows = "".join(f"| {i} |\n" for i in range(200))
    body = f"# result\n\n<details><summary>scalars</summary>\n\n{rows}</details>\n"
    text = summary_text(body, limit=700)
    assert size(text) <= 700
    head = text.removesuffix(SUMMARY_TRUNCATED)
    assert head.endswith("|\n</details>\n")
    # A "<details>" shown inside code is text, not a tag to close.
    coded = "```\n<details>\n```\n" + rows
    assert "</details>" not in summary_text(coded, limit=500)


def test_one_huge_line_is_cut_between_characters() -> None:
    body = "é" * 1000
    text = summary_text(body, limit=len(SUMMARY_TRUNCATED.encode()) + 101)
    head = text.removesuffix(SUMMARY_TRUNCATED)
    assert head == "é" * 50 + "\n"


def test_one_huge_line_opening_a_fence_is_closed() -> None:
    body = "```" + "x" * 1000 + "\nmore\n"
    limit = len(SUMMARY_TRUNCATED.encode()) + 50
    text = summary_text(body, limit=limit)
    assert size(text) <= limit
    assert text.removesuffix(SUMMARY_TRUNCATED) == "```" + "x" * 42 + "\n```\n"


def test_a_limit_without_room_for_the_note() -> None:
    with pytest.raises(ValueError, match="no room"):
        summary_text("x" * 100, limit=10)


_BODY = st.lists(
    st.one_of(
        st.text(max_size=30).map(lambda t: t.replace("\n", " ")),
        st.sampled_from(["```", "~~~~", "<details>", "</details>", "| a | b |", "é€😀" * 5, ""]),
    ),
    max_size=60,
).map("\n".join)


@settings(max_examples=300)
@given(_BODY, st.integers(min_value=len(SUMMARY_TRUNCATED.encode()) + 1, max_value=2_000))
def test_summary_properties(body: str, limit: int) -> None:
    text = summary_text(body, limit)
    assert size(text) <= limit
    if size(body) <= limit:
        assert text == body
        return
    assert text.endswith(SUMMARY_TRUNCATED)
    head = text.removesuffix(SUMMARY_TRUNCATED)
    # What is kept is the body's head (cut at a line, or inside the first line), then at most
    # the lines that close a fence and <details> blocks.
    candidates = [head]
    while candidates[-1].endswith("\n"):
        last = candidates[-1][:-1].rsplit("\n", 1)[-1]
        if not (last == "</details>" or re.fullmatch(r"`{3,}|~{3,}", last)):
            break
        candidates.append(candidates[-1][: -len(last) - 1])
    assert any(
        body.startswith(kept) or ("\n" not in kept[:-1] and body.startswith(kept[:-1]))
        for kept in candidates
    )
    assert open_fences(head.split("\n"))[-1] is None
