"""The table `make bench` ends with (bench.summary) and the lines the benchmarks write for it (bench.harness)."""

from __future__ import annotations

import json

import pytest

from bench import summary
from bench.harness import summary as record

MACHINE = [("cpu", "Intel(R) Xeon(R) Processor × 2"), ("memory", "7.8 GiB"), ("kernel", "Linux 6.1.0"),
           ("python", "3.11.7"), ("load average", "2.00  1.50  1.00  (1, 5, 15 min, at the end)"),
           ("date", "2026-12-05 23:46 +0000")]


@pytest.fixture
def figures(tmp_path, monkeypatch) -> list[dict]:
    """A run's figures as the benchmarks write them."""
    monkeypatch.setenv("PST_BENCH_SUMMARY", str(tmp_path / "summary.jsonl"))
    record("page p95 (sqlite)", 4.48, "ms", 0.43, "bare query p95", "≤ 3×", 4.48 <= 3 * 0.43, benchmark="oai_harvest")
    record("page p95 (postgresql)", 1.2, "ms", 0.5, "bare query p95", "≤ 3×", 1.2 <= 3 * 0.5, benchmark="oai_harvest")
    record("failures, 1 worker", 0, "", goal="0", met=True, benchmark="portal_load")
    record("POST /api/tickets", 812.3, "tickets/s", 2345.0, "GET /healthz", baseline_unit="requests/s",
           benchmark="tickets_http")
    return summary.read(tmp_path / "summary.jsonl")


def rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| benchmark")]


def test_a_benchmark_run_alone_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record("restore from the portal", 0.9, "s", 0.8, "offline restore", "≤ 60 s", True)
    assert list(tmp_path.iterdir()) == []


def test_each_figure_is_one_line_of_its_benchmark(tmp_path, monkeypatch):
    monkeypatch.setenv("PST_BENCH_SUMMARY", str(tmp_path / "summary.jsonl"))
    record("restore from the portal", 0.9, "s", 0.8, "offline restore", "≤ 60 s", True, benchmark="restore")
    record("restore from the portal", 61.0, "s", goal="≤ 60 s", met=False, benchmark="restore")
    lines = (tmp_path / "summary.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["met"] for line in lines] == [True, False]
    assert json.loads(lines[0]) == {"benchmark": "restore", "figure": "restore from the portal", "value": 0.9,
                                    "unit": "s", "baseline": 0.8, "baseline_name": "offline restore",
                                    "baseline_unit": "s", "goal": "≤ 60 s", "met": True}


def test_goals_are_met_or_missed_as_the_benchmark_found_them(figures):
    table = rows(summary.markdown(figures, MACHINE))
    assert [row[-1] for row in table] == ["missed", "met", "met", "—"]
    assert "4 figures, 3 with a goal: 2 met, 1 missed" in summary.plain(figures, MACHINE)


def test_the_ratio_is_the_value_over_its_baseline(figures):
    table = rows(summary.markdown(figures, MACHINE))
    assert [row[4] for row in table] == ["10.4×", "2.40×", "—", "0.35×"]
    assert table[3][3] == "GET /healthz 2,345 requests/s"


def test_a_figure_without_baseline_or_goal_shows_dashes(figures):
    failures = rows(summary.markdown(figures, MACHINE))[2]
    assert failures == ["portal_load", "failures, 1 worker", "0", "—", "—", "0", "met"]


def test_the_plain_table_lines_up_and_names_each_benchmark_once(figures):
    lines = summary.plain(figures, MACHINE).splitlines()
    header, rule, *body = lines[:6]
    assert header.split() == list(summary.HEADER) and set(rule.replace(" ", "")) == {"-"}
    assert [line[:12].strip() for line in body] == ["oai_harvest", "", "portal_load", "tickets_http"]
    ratio = header.index("ratio") + len("ratio")
    assert {line[ratio - 1] for line in body} == {"×", "—"}  # right-aligned under their heading
    assert "  cpu           Intel(R) Xeon(R) Processor × 2" in lines


def test_the_markdown_table_pastes_as_one_table_with_the_machine_under_it(figures):
    lines = summary.markdown(figures, MACHINE).splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == list(summary.HEADER)
    assert lines[1].startswith("|---") and lines[1].count("|") == len(summary.HEADER) + 1
    assert len({len(line) for line in lines[:6]}) == 1  # aligned in a terminal too
    assert "- cpu: Intel(R) Xeon(R) Processor × 2" in lines and "- kernel: Linux 6.1.0" in lines


def test_the_machine_is_read_from_proc(tmp_path):
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n\n"
                                      "processor\t: 1\n\nprocessor\t: 2\n\nprocessor\t: 3\n")
    (tmp_path / "meminfo").write_text("MemTotal:        3884408 kB\nMemFree:          123456 kB\n")
    ran_on = dict(summary.machine(tmp_path))
    assert ran_on["cpu"] == "Raspberry Pi 4 Model B Rev 1.4 × 4"
    assert ran_on["memory"] == "3.7 GiB"
    assert ran_on["load average"].endswith("(1, 5, 15 min, at the end)")


def test_a_line_cut_short_is_left_out(tmp_path, capsys):
    (tmp_path / "summary.jsonl").write_text('{"benchmark": "sync", "figure": "drain", "value": 2500.0, "unit": "r/s"}'
                                            '\n{"benchmark": "sync", "fig', encoding="utf-8")
    assert [figure["figure"] for figure in summary.read(tmp_path / "summary.jsonl")] == ["drain"]
    assert "summary.jsonl:2: not a figure" in capsys.readouterr().err


def test_no_figures_is_an_error_not_an_empty_table(tmp_path):
    with pytest.raises(SystemExit, match="no figures"):
        summary.main([str(tmp_path / "missing.jsonl")])
