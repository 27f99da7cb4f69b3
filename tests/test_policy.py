"""Loading, extending and rejecting policies (F1): every problem named with key path and line."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.policy import Duration, PolicyError, load_policy_text, load_preset, preset_names

runner = CliRunner()


def problems_of(text: str) -> list:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(textwrap.dedent(text), "p.yaml")
    return caught.value.problems


def only(text: str):
    found = problems_of(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_presets_listed():
    assert {"base", "lead-types", "b2b-saas", "enterprise", "smb"} <= set(preset_names())


def test_extends_overrides_and_keeps_the_rest():
    policy = load_policy_text(
        "extends: b2b-saas\norg: {timezone: America/New_York, locale: en, currency: USD}\n"
        "sources:\n  webinar: null\n  demo_request:\n    sla:\n      first_contact: {target: 7m}\n"
    )
    assert policy.org.timezone == "America/New_York"
    assert policy.org.name == "株式会社サンプル"  # kept from the preset
    assert "webinar" not in policy.sources  # null removes
    assert policy.sources["demo_request"].sla.first_contact.target == Duration.parse("7m")
    assert policy.sources["demo_request"].sla.assignment.target == Duration.parse("30s")
    assert policy.preset == "b2b-saas"


def test_version_is_a_stable_content_hash():
    a = load_preset("b2b-saas")
    b = load_policy_text("extends: b2b-saas\n")
    c = load_policy_text("extends: b2b-saas\ncompliance: {team: 91}\n")
    assert a.version == b.version
    assert a.version != c.version
    # Same content written out in full gives the same version as the extended form.
    assert load_policy_text("extends: b2b-saas\ncompliance: {team: 90}\n").version == a.version


def test_unknown_key_names_path_and_line():
    problem = only("""\
        extends: smb
        org:
          name: Acme
          timezon: Asia/Tokyo
        """)
    assert problem.path == "org.timezon"
    assert problem.line == 4
    assert "unknown key" in problem.reason


def test_wrong_type():
    problem = only("extends: smb\ncompliance:\n  team: lots\n")
    assert (problem.path, problem.line) == ("compliance.team", 3)
    assert "number" in problem.reason


@pytest.mark.parametrize(
    ("value", "word"),
    [("-5m", "cannot read"), ("0s", "greater than zero"), ("5 parsecs", "cannot read")],
)
def test_bad_targets(value, word):
    problem = only(
        f"extends: b2b-saas\nsources:\n  demo_request:\n    sla:\n      first_contact: {{target: {value}}}\n"
    )
    assert problem.path == "sources.demo_request.sla.first_contact.target"
    assert problem.line == 5
    assert word in problem.reason


def test_max_below_target():
    problem = only(
        "extends: b2b-saas\nsources:\n  webinar:\n    sla:\n      first_contact: {target: 1h, max: 30m}\n"
    )
    assert problem.path == "sources.webinar.sla.first_contact"
    assert "shorter than target" in problem.reason


def test_unknown_timezone_and_holiday_country():
    found = problems_of("""\
        extends: smb
        org: {timezone: Mars/Olympus}
        calendars:
          business:
            holidays: {countries: [XX]}
        """)
    assert [(p.path, p.line) for p in found] == [
        ("org.timezone", 2),
        ("calendars.business.holidays.countries", 5),
    ]


def test_reversed_and_overlapping_hours():
    found = problems_of("""\
        extends: smb
        calendars:
          business:
            weekly:
              mon: [["09:00", "12:00"], ["11:00", "18:00"]]
              tue: [["18:00", "09:00"]]
              wed: [["9am", "18:00"]]
        """)
    reasons = {p.path: (p.line, p.reason) for p in found}
    assert reasons["calendars.business.weekly.wed.0.0"] == (
        7,
        "'9am' is not a time of day written HH:MM (24:00 allowed as an end)",
    )
    assert reasons["calendars.business.weekly.mon.1"] == (
        5,
        "mon: intervals 09:00-12:00 and 11:00-18:00 overlap",
    )
    assert reasons["calendars.business.weekly.tue.0"][0] == 6


def test_escalation_to_missing_role():
    problem = only("""\
        extends: smb
        escalations:
          cfo_alert:
            label: tell the CFO
            trigger: {kind: unassigned, after: 5m}
            steps: [{notify: [cfo]}]
        """)
    assert problem.path == "escalations.cfo_alert.steps.0.notify"
    assert problem.line == 6
    assert "unknown role 'cfo'" in problem.reason


def test_cadence_longer_than_window():
    problem = only("""\
        extends: smb
        tiers:
          hot:
            sla:
              cadence:
                window: 1bd
        """)
    assert problem.path == "tiers.hot.sla.cadence.steps"
    assert "longer than its window" in problem.reason
    assert problem.file == "preset:base"  # the steps themselves are written in the preset


def test_every_problem_is_reported_at_once():
    found = problems_of("""\
        extends: b2b-saas
        org: {timezone: Nowhere/City, currenccy: JPY}
        sources:
          demo_request:
            priority: scorching
            sla:
              first_contact: {target: 5m, max: 3m}
        escalations:
          x: {label: x, trigger: {kind: unassigned, after: 5m}, steps: [{notify: [cfo]}]}
        compliance: {team: 150}
        """)
    paths = {p.path for p in found}
    assert paths == {
        "org.timezone",
        "org.currenccy",
        "sources.demo_request.priority",
        "sources.demo_request.sla.first_contact",
        "escalations.x.steps.0.notify",
        "compliance.team",
    }
    assert all(p.line is not None for p in found)


def test_unknown_preset_and_bad_yaml():
    assert "unknown preset" in only("extends: nope\n").reason
    problem = only("org: {name: [unclosed\n")
    assert "not valid YAML" in problem.reason and problem.line is not None
    assert "mapping" in only("- just\n- a list\n").reason


def test_unknown_calendar_reference():
    problem = only("extends: smb\ndefaults:\n  acceptance: {target: 4h, calendar: weekdays}\n")
    assert problem.path == "defaults.acceptance.calendar"
    assert "unknown calendar 'weekdays'" in problem.reason


def test_cli_check_ok_and_errors(tmp_path):
    good = tmp_path / "good.yaml"
    result = runner.invoke(app, ["policy", "init", "--preset", "smb"])
    assert result.exit_code == 0 and result.stdout.startswith("# leadclock policy")
    good.write_text(result.stdout, encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(good)])
    assert result.exit_code == 0
    assert "ok" in result.stdout and load_preset("smb").version in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "extends: smb\norg: {timezone: Mars/Olympus}\ncompliance: {team: x}\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: org.timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert f"{bad}:3: compliance.team:" in result.stderr
    missing = runner.invoke(app, ["policy", "check", str(tmp_path / "absent.yaml")])
    assert missing.exit_code == 2 and "cannot read the file" in missing.stderr


def test_cli_init_unknown_preset():
    result = runner.invoke(app, ["policy", "init", "--preset", "nope"])
    assert result.exit_code == 2
    assert "unknown preset" in result.stderr


def test_cli_show_prints_the_seed_tables():
    result = runner.invoke(app, ["policy", "show", "--preset", "enterprise"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "指名アカウントインバウンド" in out and "即時" in out and "10分" in out
    assert "8 / 5営業日" in out
    assert "指名アカウントリードに30分以内にコンタクトされない場合、VP Salesにアラート" in out
    assert "指名アカウントインバウンド 95%" in out and "その他のソース 85%" in out
    english = runner.invoke(app, ["policy", "show", "--preset", "b2b-saas", "--lang", "en"])
    assert "Demo request" in english.stdout and "30 s" in english.stdout
    assert "team average 90%, individual minimum 85%" in english.stdout


def test_cli_show_needs_exactly_one_policy(tmp_path):
    result = runner.invoke(app, ["policy", "show"])
    assert result.exit_code == 2 and "give a policy file or --preset" in result.stderr


def test_cli_doc_writes_every_format(tmp_path):
    pdf = tmp_path / "agreement.pdf"
    result = runner.invoke(app, ["doc", "--preset", "smb", "--lang", "ja", "--format", "pdf", "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    md = runner.invoke(app, ["doc", "--preset", "smb", "--lang", "en", "--format", "md"])
    assert md.exit_code == 0 and "Inbound demo request" in md.stdout
    bad = runner.invoke(app, ["doc", "--preset", "smb", "--format", "docx"])
    assert bad.exit_code == 2 and "--format" in bad.stderr


def test_cli_advise():
    result = runner.invoke(app, ["policy", "advise", "--baseline-minutes", "120", "--lang", "en"])
    assert result.exit_code == 0
    assert "30 min" in result.stdout and "15 min → 5 min" in result.stdout
    bad = runner.invoke(app, ["policy", "advise", "--baseline-minutes", "0"])
    assert bad.exit_code == 2 and "baseline_minutes" in bad.stderr


def test_yaml_alias_bomb_is_refused_quickly():
    import time

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    started = time.perf_counter()
    problem = only("\n".join(lines) + "\n")
    assert "expands to more than" in problem.reason
    assert time.perf_counter() - started < 5
