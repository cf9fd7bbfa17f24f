"""The table `make bench` prints at the end: every figure the benchmarks wrote (bench.harness.summary) beside its
baseline and its goal, then the machine it ran on. `python -m bench.summary FILE [--markdown]`; the Markdown form is
the one the README shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

HEADER = ("benchmark", "figure", "value", "baseline", "ratio", "goal", "met")
RIGHT = {"value", "ratio"}  # numbers line up on the right
NONE = "—"


def read(path: Path) -> list[dict]:
    """The figures in the order they were written; a line cut short (a benchmark killed mid-write) is left out."""
    figures = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            figures.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{number}: not a figure, left out", file=sys.stderr)
    return figures


def number(value: float) -> str:
    """As many digits as the figure's size deserves: 12,345 · 123 · 12.3 · 1.23."""
    if isinstance(value, int):
        return f"{value:,d}"
    size = abs(value)
    return f"{value:,.0f}" if size >= 100 else f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def ratio(figure: dict) -> str:
    baseline = figure.get("baseline")
    if not baseline:  # none, or nothing to divide by
        return NONE
    found = figure["value"] / baseline
    return f"{found:.0f}×" if found >= 100 else f"{found:.1f}×" if found >= 10 else f"{found:.2f}×"


def baseline(figure: dict) -> str:
    name, value = figure.get("baseline_name", ""), figure.get("baseline")
    if value is None:
        return name or NONE
    measured = f"{number(value)} {figure.get('baseline_unit') or figure['unit']}".rstrip()
    return f"{name} {measured}" if name else measured


def verdict(figure: dict) -> str:
    met = figure.get("met")
    if not figure.get("goal") or met is None:
        return NONE
    return "met" if met else "missed"


def cells(figures: list[dict]) -> list[tuple[str, ...]]:
    """One row per figure; a benchmark's name only on its first row."""
    rows, previous = [], None
    for figure in figures:
        name = figure.get("benchmark", "")
        rows.append(("" if name == previous else name, figure["figure"], f"{number(figure['value'])} {figure['unit']}".rstrip(),
                     baseline(figure), ratio(figure), figure.get("goal") or NONE, verdict(figure)))
        previous = name
    return rows


def tally(figures: list[dict]) -> str:
    judged = [verdict(figure) for figure in figures if verdict(figure) != NONE]
    return (f"{len(figures)} figures, {len(judged)} with a goal: {judged.count('met')} met, "
            f"{judged.count('missed')} missed")


def machine(proc: Path = Path("/proc")) -> list[tuple[str, str]]:
    """What the figures were measured on, read when the table is made (the load average is the run's end)."""
    cpuinfo = _fields(proc / "cpuinfo")
    model = next((cpuinfo[key][0] for key in ("model name", "Model", "Hardware", "cpu model") if key in cpuinfo),
                 platform.processor() or platform.machine())
    count = len(cpuinfo.get("processor", [])) or os.cpu_count() or 0
    memory_kb = int(_fields(proc / "meminfo").get("MemTotal", ["0 kB"])[0].split()[0])
    try:
        load = "  ".join(f"{value:.2f}" for value in os.getloadavg()) + "  (1, 5, 15 min, at the end)"
    except OSError:
        load = NONE
    return [("cpu", f"{model} × {count}"), ("memory", f"{memory_kb / 1024 / 1024:.1f} GiB"),
            ("kernel", f"{platform.system()} {platform.release()}"), ("python", platform.python_version()),
            ("load average", load), ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z"))]


def _fields(path: Path) -> dict[str, list[str]]:
    """`key : value` lines (every value of a repeated key, in order); empty when the file is not there."""
    found: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def plain(figures: list[dict], ran_on: list[tuple[str, str]]) -> str:
    rows = cells(figures)
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.rjust(width) if name in RIGHT else cell.ljust(width)
                         for name, cell, width in zip(HEADER, row, widths)).rstrip()

    label = max(len(key) for key, _ in ran_on)
    return "\n".join([line(HEADER), "  ".join("-" * width for width in widths), *map(line, rows), "", tally(figures),
                      "", "ran on", *(f"  {key.ljust(label)}  {value}" for key, value in ran_on)])


def markdown(figures: list[dict], ran_on: list[tuple[str, str]]) -> str:
    rows = [tuple(cell.replace("|", "\\|") for cell in row) for row in cells(figures)]
    widths = [max(3, *(len(row[i]) for row in [HEADER, *rows])) for i in range(len(HEADER))]

    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.rjust(width) if name in RIGHT else cell.ljust(width)
                                 for name, cell, width in zip(HEADER, row, widths)) + " |"

    rule = "|" + "|".join(("-" * (width + 1) + ":") if name in RIGHT else "-" * (width + 2)
                          for name, width in zip(HEADER, widths)) + "|"
    return "\n".join([line(HEADER), rule, *map(line, rows), "", tally(figures) + ".", "",
                      *(f"- {key}: {value}" for key, value in ran_on)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="the figures, one JSON line each (PST_BENCH_SUMMARY of the run)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table, as the README shows it")
    args = parser.parse_args(argv)
    figures = read(args.file) if args.file.exists() else []
    if not figures:
        raise SystemExit(f"{args.file}: no figures (was PST_BENCH_SUMMARY set while the benchmarks ran?)")
    print((markdown if args.markdown else plain)(figures, machine()))


if __name__ == "__main__":
    main()
