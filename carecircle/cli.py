"""The ``carecircle`` command: a thin click group over the library.

Commands parse arguments, call one library function and print; errors of ours become a one-line
message (Chinese first, English alongside) and exit code 2, with nothing half-written.

Names and messages echoed here may come from untrusted files (a developer's plan, a county's
layers): every such value goes through :func:`carecircle.safe.terminal_text` first, so an escape
sequence, a carriage return or a newline inside a name cannot rewrite or add lines of the output.
"""

from __future__ import annotations

import errno
import logging
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import click

from carecircle._version import __version__
from carecircle.errors import CareCircleError, InterruptedAfterWriting, ScenarioError
from carecircle.safe import terminal_text

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3  # a bug of ours: not the input's fault, not a failed rule
EXIT_NO_SPACE = 4  # the disk filled up (or a file grew past the system's limit) while writing
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

# Longest line of an error message or a reason echoed (characters, after escaping): long enough
# for every message of ours, short enough that a value of a megabyte cannot flood the terminal.
_LINE = 1000


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except ScenarioError as exc:
        click.echo(_scenario_message(exc), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except CareCircleError as exc:
        click.echo(f"错误 / error: {terminal_text(exc, limit=_LINE)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except InterruptedAfterWriting:
        click.echo("已中断，结果已完整写出 / interrupted after the outputs were written", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("已中断，未写出任何结果 / interrupted; no output was written", err=True)
        sys.exit(130)
    except OSError as exc:
        where = terminal_text(exc.filename or "", limit=200)
        if exc.errno in _NO_SPACE:
            click.echo(
                f"错误 / error: 磁盘空间不足，无法写出 {where} / no space left while writing {where} "
                f"({exc.strerror}); free some space and run again; the previous outputs are kept",
                err=True,
            )
            sys.exit(EXIT_NO_SPACE)
        click.echo(
            f"错误 / error: 无法读写 {where} / cannot read or write {where} ({exc.strerror}); "
            "check the path and its permissions",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # a bug of ours: one line, and the traceback with -v
        if logging.getLogger().isEnabledFor(logging.INFO):
            traceback.print_exc()
        click.echo(
            f"内部错误 / internal error ({type(exc).__name__}: {terminal_text(exc, limit=200)}); "
            "this is a bug in carecircle, not in your data: please report it with the command "
            "and its input (-v shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


def _scenario_message(exc: ScenarioError) -> str:
    """The error's own lines (a heading, then one per problem), each made safe on its own.

    The message is rebuilt from its parts rather than split at newlines, so a newline inside a
    value quoted in a problem is escaped and cannot pass for another problem.
    """
    if not exc.problems:
        return terminal_text(exc, limit=_LINE)
    safe = ScenarioError(
        terminal_text(exc.source, limit=_LINE),
        [
            (terminal_text(key, limit=_LINE), terminal_text(msg, limit=_LINE))
            for key, msg in exc.problems
        ],
    )
    return str(safe)


class _LogFormatter(logging.Formatter):
    """Each log message on one line, made safe: library messages may quote names from files."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_text(super().formatMessage(record), limit=_LINE)


class _StageClock:
    """Prints one line per stage with the time the previous stage took."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.perf_counter()
        self.last: tuple[str, float] | None = None

    def __call__(self, i: int, n: int, label: str) -> None:
        self.close()
        if not self.quiet:
            click.echo(f"[{i}/{n}] {terminal_text(label, limit=_LINE)} ...", err=True)
        self.last = (label, time.perf_counter())

    def message(self, label: str) -> None:
        self.close()
        if not self.quiet:
            click.echo(f"      {terminal_text(label, limit=_LINE)} ...", err=True)
        self.last = (label, time.perf_counter())

    def close(self) -> None:
        if self.last and not self.quiet:
            click.echo(f"      完成 / done in {time.perf_counter() - self.last[1]:.1f} s", err=True)
        self.last = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="carecircle")
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Only errors and results.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int) -> None:
    """carecircle: 养老服务圈规划工具 / planner for county elderly-care service networks."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=[handler])
    ctx.obj = {"quiet": quiet > 0}


def _out_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--out DIR``, defaulting to ``default`` (worked out by the command when not given)."""
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        default=None,
        help=f"Output folder [default: {default}].",
    )


def _parse_limits(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    from carecircle.scenario import InputLimits

    out: dict[str, float] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in InputLimits.model_fields:
            raise click.BadParameter(
                f"{terminal_text(item, limit=60)}: 须为 键=值 / give KEY=VALUE with a key of "
                f"{', '.join(InputLimits.model_fields)}"
            )
        try:
            out[key] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{terminal_text(item, limit=60)}: 值须为数字 / the value must be a number"
            ) from None
    return out


_LIMIT_OPTION = click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_limits,
    help="Raise one of the scenario's input limits for this command, e.g. plan_rows=20000 "
    "(repeatable; see `limits:` in the README).",
)


def _with_limits(sc: Any, limits: dict[str, float]) -> Any:
    """The scenario with ``--limit`` values applied (checked like the scenario's own)."""
    if not limits:
        return sc
    from pydantic import ValidationError

    try:
        raised = sc.limits.raised(limits)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(
            "--limit", [(f"limits.{first['loc'][0]}", terminal_text(first["msg"], limit=200))]
        ) from None
    return sc.model_copy(update={"limits": raised})


_DATA_OPTION = click.option(
    "--data",
    "data_from",
    default=None,
    metavar="NAME|FILE",
    help="Use another scenario's area and data, e.g. `--data demo` for demo.yaml beside SCENARIO.",
)


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@_DATA_OPTION
def validate(scenario: Path, data_from: str | None) -> None:
    """检查情景文件 / check a scenario file and list every problem in it."""
    from carecircle.preflight import preflight
    from carecircle.scenario import load_scenario
    from carecircle.sources.layers import check_columns

    with _friendly_errors():
        sc = load_scenario(scenario, data_from=data_from)
        check_columns(sc)
        preflight(sc)  # every check of `run` that needs no travel graph
    tiers = ", ".join(f"{k}: {v.mode} {v.minutes:g} min" for k, v in sc.tiers.items())
    click.echo(f"情景文件有效 / scenario is valid: {sc.name} ({tiers})")


@main.command("demo-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("data/demo"),
    show_default=True,
)
@click.option("--size", type=click.Choice(["small", "county"]), default="small", show_default=True)
@click.option("--seed", type=int, default=2022, show_default=True)
@click.pass_context
def demo_data(ctx: click.Context, out_dir: Path, size: str, seed: int) -> None:
    """生成演示县数据 / generate the (fictional) demo county."""
    from carecircle.demo import DemoSizeName, generate_demo

    clock = _StageClock(ctx.obj["quiet"])
    with _friendly_errors():
        manifest = generate_demo(
            out_dir, size=cast(DemoSizeName, size), seed=seed, progress=clock.message
        )
    clock.close()
    counts = manifest.get("counts", {})
    click.echo(
        f"演示县已生成 / demo county written: {out_dir.resolve()} "
        f"({counts.get('townships_total', counts.get('townships', '?'))} 乡镇 townships, "
        f"{counts.get('villages_total', counts.get('villages', '?'))} 村社区 villages)"
    )


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@_out_option("maps/<scenario name>/")
@_DATA_OPTION
@_LIMIT_OPTION
@click.pass_context
def run(
    ctx: click.Context,
    scenario: Path,
    out_dir: Path | None,
    data_from: str | None,
    limits: dict[str, float],
) -> None:
    """运行情景：评估15分钟养老服务圈并出图 / score the circle and write the map and report."""
    from carecircle.outputs import write_outputs
    from carecircle.pipeline import run_scenario
    from carecircle.scenario import load_scenario

    clock = _StageClock(ctx.obj["quiet"])
    with _friendly_errors():
        sc = _with_limits(load_scenario(scenario, data_from=data_from), limits)
        result = run_scenario(sc, progress=clock)
        out = out_dir or Path("maps") / sc.name
        paths = write_outputs(result, out, progress=clock.message)
    clock.close()
    for line in _circle_lines(result.summary):
        click.echo(line)
    projected = _demand_line(result.summary.get("demand", {}))
    if projected:
        click.echo(projected)
    for line in _siting_lines(result.summary.get("siting", {})):
        click.echo(line)
    click.echo(f"地图 / map: {paths['index.html'].resolve()}")
    click.echo(f"报告 / report: {paths['report.html'].resolve()}")
    _echo_quality(result.summary.get("data_quality", {}))


def _circle_lines(summary: dict[str, Any]) -> list[str]:
    """The circle as its rule judges it (its own minutes and services), then every tier at its
    own mode and minutes, and the beds within the regional tier's reach."""
    from carecircle.outputs.text import amount, pct, tier_label

    circle = summary["village_circle"]
    lines = [
        f"{circle['minutes']:g}分钟养老服务圈覆盖率 / {circle['minutes']:g}-minute circle: "
        f"{circle['share'] * 100:.1f}% of {circle['older']:,.0f} older residents"
    ]
    for name, tier in summary.get("tiers", {}).items():
        zh, en = tier_label(name, tier["mode"], tier["minutes"])
        line = f"  {zh} / {en}: {pct(tier['share'])}"
        if name == "regional" and "beds_per_1000_older" in tier:
            rate = tier["beds_per_1000_older"]
            homes = tier.get("bed_sites", 0)
            line += (
                f"；{homes} 处有床位机构的可达床位 {amount(rate, 'per_1000_older')} / beds of "
                f"{homes} homes with beds within reach {amount(rate, 'per_1000_older', 'en')}"
            )
        lines.append(line)
    return lines


def _bed_target_words(homes: dict[str, Any]) -> str:
    """The bed target beside the plan's beds: exactly met, over it and why, or a floor."""
    target = int(homes["targets"]["new_beds"])
    if homes.get("beds_target", "at_least") != "exact":
        return f"目标 ≥{target:,} at least"
    excess = int(homes.get("bed_excess") or 0)
    if excess <= 0 or not homes.get("sites"):
        return f"目标 target {target:,}，恰好 exactly"
    return (
        f"目标 target {target:,}，多 {excess:,} 张 / {excess:,} over: "
        f"{terminal_text(homes.get('excess_reason_zh', ''), limit=None)} / "
        f"{terminal_text(homes.get('excess_reason_en', ''), limit=None)}"
    )


def _demand_line(demand: dict[str, Any]) -> str | None:
    """One line when the siting plans for a horizon year's older residents (``demand:``)."""
    if not demand or demand.get("source", "none") == "none":
        return None
    year, rate = demand["horizon_year"], demand["rate"] * 100
    figures = f"{demand['older_base']:,.0f} → {demand['older_horizon']:,.0f}"
    if demand["source"] == "census":
        zh, en = "据2010、2020年普查", "from the 2010 and 2020 censuses"
    else:
        zh, en = "据情景设定", "as the scenario sets"
    return (
        f"需求按 {year} 年预测：60岁及以上 {figures}（年增 {rate:.1f}%，{zh}）/ demand projected "
        f"to {year}: 60+ {figures} ({rate:+.1f} % a year, {en}); coverage and gaps stay on "
        f"{demand['base_year']}"
    )


def _siting_lines(siting: dict[str, Any]) -> list[str]:
    """One line per siting model of the run: what it recommends and how sure it is."""
    lines = []
    homes = siting.get("regional_homes")
    if homes:
        quota = homes["targets"]["land_quota_mu"]
        lines.append(
            f"推荐区域性养老机构 / regional homes: {homes['sites']} 处 sites, "
            f"{homes['new_beds']:,} 张新增床位 new beds ({_bed_target_words(homes)}), "
            f"用地 land {homes['land_mu']:.1f} 亩 mu"
            + (f" (指标 quota {quota:g})" if quota is not None else "")
            + f"; {homes['message']}"
        )
    centres = siting.get("village_centres")
    if centres:
        lines.extend(_centre_lines(centres))
    phased = siting.get("phasing")
    if phased:
        lines.append(_phasing_line(phased))
    return lines


def _centre_lines(centres: dict[str, Any]) -> list[str]:
    """The village-centre decision: the plan, what the curve says, who is left to mobile care."""
    curve = centres.get("curve") or []
    total = float(centres.get("older_total") or 0.0)
    limit = centres.get("limit")
    source = {
        "centre_budget_yuan": f"预算 budget {centres.get('centre_budget_yuan') or 0:,.0f} 元 yuan",
        "max_new_centres": "max_new_centres",
        "phases.max_new_centres": "各年上限之和 the years' limits",
    }.get(str(centres.get("limit_source")), "")
    why = (
        f"上限 {limit} 处 / limit {limit}, {source}"
        if limit is not None
        else "不设数量上限 / no limit on their number"
    )
    lines = [
        f"推荐新增村级照料中心 / new village centres: {centres['new_centres']} 处（{why}；"
        f"{centres['in_existing_buildings']} 利用现有建筑 in existing buildings；每处至少服务 "
        f"{centres.get('min_older_per_centre', 0):g} 名老年人 each serves at least "
        f"{centres.get('min_older_per_centre', 0):g}）; {centres['message'].split(';')[0]}"
    ]
    if len(curve) > 2 and total > 0:
        first, last = curve[0], curve[-1]
        # the smallest number of centres that brings nine tenths of what the whole plan brings
        gain = last["older_covered"] - first["older_covered"]
        knee = next(
            (p for p in curve if p["older_covered"] - first["older_covered"] >= 0.9 * gain), last
        )
        lines.append(
            f"覆盖曲线 / coverage curve: 0 处 {first['share'] * 100:.1f}% → {knee['centres']} 处 "
            f"{knee['share'] * 100:.1f}% → {last['centres']} 处 {last['share'] * 100:.1f}%"
            f"（前 {knee['centres']} 处带来九成增量 / the first {knee['centres']} bring 90 % of "
            "the gain）"
        )
    still = list(centres.get("villages_still_without_centre") or [])
    if still:
        lines.append(
            f"方案后仍无照料中心的村（社区） / villages still without a centre: {len(still)} 个"
            f"（{'、'.join(still[:6])}{' …' if len(still) > 6 else ''}）："
            f"{centres.get('still_without_reason_zh', '')} / "
            f"{centres.get('still_without_reason_en', '')}"
        )
    mobile = float(centres.get("older_mobile_service") or 0.0)
    if mobile > 0:
        villages = [m["village"] for m in centres.get("mobile_service", [])]
        lines.append(
            f"方案后仍在服务圈外 / still outside the circle after the plan: {mobile:,.0f} 名老年人 older "
            f"residents in {len(villages)} 个村（社区） villages（{'、'.join(villages[:6])}"
            f"{' …' if len(villages) > 6 else ''}）"
        )
    return lines


def _phasing_line(phased: dict[str, Any]) -> str:
    """分期 / phasing 2023–2025: 3 年每年目标均满足 / every year's targets hold; 最优 / optimal."""
    years = [y["year"] for y in phased["years"]]
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else f"{years[0]}"
    held = sum(bool(y["holds"]) for y in phased["years"])
    status = phased["status"]
    warning = f" ⚠ {phased['warning']}" if phased.get("warning") else ""
    if status == "infeasible":
        return f"分期 / phasing {span}: 无可行安排 / no schedule; {phased['message']}{warning}"
    verdict = (
        f"{len(years)} 年每年目标均满足 / every year's targets hold"
        if held == len(years)
        else f"{held}/{len(years)} 年目标满足 / years' targets hold"
    )
    if status == "optimal":
        how = "最优 / optimal"
    else:
        gap = phased.get("gap")
        shown = f"{gap:.2%}" if isinstance(gap, float) and math.isfinite(gap) else "?"
        how = f"达到时间上限，差距 {shown} / time limit reached, {shown} from the bound"
    return f"分期 / phasing {span}: {verdict}; {how}{warning}"


@main.command("check-plan")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option(
    "--scenario",
    "scenario",
    type=click.Path(path_type=Path),
    required=True,
    help="The scenario whose rules, data and plan: columns apply.",
)
@_out_option("maps/<scenario name>/plan-check/")
@_DATA_OPTION
@_LIMIT_OPTION
@click.pass_context
def check_plan(
    ctx: click.Context,
    plan: Path,
    scenario: Path,
    out_dir: Path | None,
    data_from: str | None,
    limits: dict[str, float],
) -> None:
    """审查用地配置方案 / check an allocation plan rule by rule.

    Exit code 0 when every applicable rule passes, 1 when any fails, 2 on bad input, 3 on an
    internal error, 4 when the disk fills up while writing.
    """
    from carecircle.outputs.verdicts import write_verdicts
    from carecircle.review import review_plan
    from carecircle.scenario import load_scenario
    from carecircle.sources.plan import read_plan

    clock = _StageClock(ctx.obj["quiet"])
    with _friendly_errors():
        sc = _with_limits(load_scenario(scenario, data_from=data_from), limits)
        proposal = read_plan(plan, sc)
        check = review_plan(proposal, sc, progress=clock)
        paths = write_verdicts(check, sc, out_dir or Path("maps") / sc.name / "plan-check")
    clock.close()
    counts = check.summary["counts"]
    click.echo(
        f"方案审查 / plan check: {counts['pass']} 达标 pass, {counts['fail_required']} 未达标 fail, "
        f"{counts['fail_advisory']} 参考 advisory, {counts['not_assessable']} 无法评估 not assessable"
    )
    for v in check.failed:
        click.echo(_failed_line(v.rule_id, v.object_name, v.reason_zh, v.reason_en, v.citation))
    click.echo(f"审查结果 / verdicts: {paths['verdicts.html'].resolve()}")
    _echo_quality(check.summary.get("data_quality", {}))
    sys.exit(check.exit_code)


def _echo_quality(quality: dict[str, Any]) -> None:
    """The run's data-quality warnings on stderr, one line each (banner ones marked ⚠)."""
    warnings = quality.get("warnings", [])
    if not warnings:
        return
    click.echo(f"数据质量提示 / data-quality warnings ({len(warnings)}):", err=True)
    for w in warnings:
        mark = "⚠" if w.get("banner") else "·"
        text = f"{w['message_zh']} / {w['message_en']}"
        click.echo(f"  {mark} [{w['code']}] {terminal_text(text, limit=_LINE)}", err=True)


def _failed_line(rule_id: str, name: str, reason_zh: str, reason_en: str, citation: str) -> str:
    """``  ✗ rule name: reason / reason [clause]`` on one line; the name cut at 80 characters."""
    reason = " / ".join(terminal_text(r, limit=_LINE) for r in (reason_zh, reason_en))
    return (
        f"  ✗ {terminal_text(rule_id, limit=_LINE)} {terminal_text(name)}: {reason} "
        f"[{terminal_text(citation, limit=_LINE)}]"
    )


@main.command()
def rules() -> None:
    """列出政策规则目录 / list the policy rule catalogue."""
    from carecircle.rules import catalogue_table

    for row in catalogue_table():
        click.echo(f"{row['id']:<26} {row['scope']:<9} {row['title_zh']} / {row['title_en']}")
        click.echo(f"{'':<26} {row['params']}  [{row['citation']}]")


@main.command()
@click.argument("scenario_a", type=click.Path(path_type=Path))
@click.argument("scenario_b", type=click.Path(path_type=Path))
@_out_option("maps/compare-<A>-<B>/")
@_DATA_OPTION
@click.pass_context
def compare(
    ctx: click.Context,
    scenario_a: Path,
    scenario_b: Path,
    out_dir: Path | None,
    data_from: str | None,
) -> None:
    """对比两个情景 / run two scenarios and map the difference side by side."""
    from carecircle.outputs.compare import write_comparison
    from carecircle.pipeline import run_scenario
    from carecircle.scenario import load_scenario

    clock = _StageClock(ctx.obj["quiet"])
    with _friendly_errors():
        runs = []
        for label, path in (("A", scenario_a), ("B", scenario_b)):
            sc = load_scenario(path, data_from=data_from)
            clock.message(f"情景 / scenario {label}: {sc.name}")
            runs.append(run_scenario(sc, progress=clock))
        a, b = runs
        out = out_dir or Path("maps") / f"compare-{a.scenario.name}-{b.scenario.name}"
        paths = write_comparison(a, b, out, progress=clock.message)
    clock.close()
    for label, r in (("A", a), ("B", b)):
        circle = r.summary["village_circle"]
        click.echo(
            f"{label} {r.scenario.name}: {circle['minutes']:g}分钟养老服务圈覆盖率 / "
            f"{circle['minutes']:g}-minute circle {circle['share'] * 100:.1f}%"
        )
    click.echo(f"对比地图 / comparison map: {paths['index.html'].resolve()}")


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A running Dask scheduler (tcp://host:8786) [default: a local cluster for the batch].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("maps/batch"),
    show_default=True,
    help="Output folder: one subfolder per county, province_summary.json and index.html.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes of the local cluster (not used with --scheduler).",
)
@click.pass_context
def batch(
    ctx: click.Context,
    scenarios: tuple[Path, ...],
    scheduler: str | None,
    out_dir: Path,
    workers: int,
) -> None:
    """批量运行多个县 / run many counties at once on Dask, one task per scenario.

    Counties whose outputs are complete and whose scenario and data are unchanged are skipped.
    Exit code 0 when every county is done, 1 when any failed, 2 when no scenario is valid.
    """
    from carecircle.batch import run_batch

    quiet = ctx.obj["quiet"]
    started = time.perf_counter()

    def say(line: str) -> None:
        if not quiet:
            click.echo(terminal_text(line, limit=_LINE), err=True)

    with _friendly_errors():
        try:
            outcome = run_batch(
                scenarios, out_dir, scheduler=scheduler, workers=workers, progress=say
            )
        except KeyboardInterrupt:
            click.echo(
                "已中断；已完成的县已保留，重新运行将跳过它们 / interrupted; counties already "
                "done are kept and a re-run skips them",
                err=True,
            )
            sys.exit(130)
    say(f"      完成 / done in {time.perf_counter() - started:.1f} s")
    labels = {"ok": "完成 / ok", "skipped": "跳过 / skipped", "failed": "失败 / failed"}
    for c in outcome.counties:
        share = c.headline.get("village_circle", {}).get("share")
        if c.status == "failed":
            detail = c.reason or ""
        else:
            detail = f"覆盖率 / circle {share * 100:.1f}%" if share is not None else ""
        click.echo(
            f"{terminal_text(c.name)}: {labels[c.status]}; {terminal_text(detail, limit=_LINE)}"
        )
    click.echo(f"全省汇总 / province summary: {outcome.summary_path.resolve()}")
    click.echo(f"地图索引 / map index: {outcome.index_path.resolve()}")
    sys.exit(outcome.exit_code)


def _parse_from_files(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in values:
        for part in item.split(","):
            layer, sep, path = part.partition("=")
            if not sep or not layer.strip() or not path.strip():
                raise click.BadParameter(
                    f"{terminal_text(part, limit=80)}: 须为 图层=路径 / give LAYER=PATH, e.g. "
                    "villages=村界.shp (layers: boundary, townships, villages, facilities, candidates)"
                )
            out[layer.strip()] = Path(path.strip())
    return out


@main.command()
@click.argument("county")
@click.argument("more_files", nargs=-1, metavar="[LAYER=PATH]...", callback=_parse_from_files)
@_out_option("kits/<scenario name>/")
@click.option(
    "--boundary",
    type=click.Path(path_type=Path),
    help="The county outline (a GIS file) instead of OSM's.",
)
@click.option(
    "--osm",
    "osm_file",
    type=click.Path(path_type=Path),
    help="A local OSM XML or PBF file instead of Overpass.",
)
@click.option(
    "--population",
    "population_file",
    type=click.Path(path_type=Path),
    help="A residents-per-cell raster instead of WorldPop over HTTP.",
)
@click.option(
    "--from-files",
    "from_files",
    multiple=True,
    metavar="LAYER=PATH",
    callback=_parse_from_files,
    help="The bureau's own layer in place of the draft (boundary, townships, villages, "
    "facilities, candidates); repeatable or comma-separated.",
)
@click.option(
    "--townships", type=click.Path(path_type=Path), help="Same as --from-files townships=PATH."
)
@click.option(
    "--villages", type=click.Path(path_type=Path), help="Same as --from-files villages=PATH."
)
@click.option(
    "--facilities", type=click.Path(path_type=Path), help="Same as --from-files facilities=PATH."
)
@click.option(
    "--candidates", type=click.Path(path_type=Path), help="Same as --from-files candidates=PATH."
)
@click.option(
    "--census-county", metavar="CODE|NAME", help="The census county, when COUNTY does not name it."
)
@click.option(
    "--buffer-m",
    type=float,
    default=2000.0,
    show_default=True,
    help="Roads this far outside the area.",
)
@click.option(
    "--name", default=None, help="The scenario's name [default: cn<code>, cn<code>-part]."
)
@click.option(
    "--nominatim-url",
    envvar="CARECIRCLE_NOMINATIM_URL",
    show_envvar=True,
    help="Nominatim server [default: osmnx's].",
)
@click.option(
    "--overpass-url",
    envvar="CARECIRCLE_OVERPASS_URL",
    show_envvar=True,
    help="Overpass API [default: osmnx's].",
)
@click.option(
    "--worldpop-url",
    envvar="CARECIRCLE_WORLDPOP_URL",
    show_envvar=True,
    help="WorldPop file server [default: https://data.worldpop.org].",
)
@click.pass_context
def init(
    ctx: click.Context,
    county: str,
    more_files: dict[str, Path],
    out_dir: Path | None,
    boundary: Path | None,
    osm_file: Path | None,
    population_file: Path | None,
    from_files: dict[str, Path],
    townships: Path | None,
    villages: Path | None,
    facilities: Path | None,
    candidates: Path | None,
    census_county: str | None,
    buffer_m: float,
    name: str | None,
    nominatim_url: str | None,
    overpass_url: str | None,
    worldpop_url: str | None,
) -> None:
    """为一个县生成情景与数据包 / write a runnable scenario and a data kit for a county.

    COUNTY is a 6-digit 区划代码 (360681), a county's name ('乐清市, 温州市, 浙江省') or a part
    of a county followed by the county ('东门街道, 贵溪市'). LAYER=PATH pairs after it (or after
    --from-files) are the bureau's own layers.
    """
    from carecircle.kit import KitRequest, build_kit

    clock = _StageClock(ctx.obj["quiet"])
    step: list[tuple[int, int]] = []

    def progress(i: int, n: int, label: str) -> None:
        if step and step[-1] == (i, n):  # a detail of the stage under way
            if not ctx.obj["quiet"]:
                click.echo(f"      {terminal_text(label, limit=_LINE)}", err=True)
        else:
            step.append((i, n))
            clock(i, n, label)

    layers = {**from_files, **more_files}
    for layer, path in (
        ("townships", townships),
        ("villages", villages),
        ("facilities", facilities),
        ("candidates", candidates),
    ):
        if path is not None:
            layers[layer] = path
    with _friendly_errors():
        result = build_kit(
            KitRequest(
                county=county,
                out_dir=out_dir,
                boundary=boundary,
                osm_file=osm_file,
                population=population_file,
                from_files=layers,
                census_county=census_county,
                buffer_m=buffer_m,
                nominatim_url=nominatim_url,
                overpass_url=overpass_url,
                worldpop_url=worldpop_url,
                name=name,
            ),
            progress=progress,
        )
    clock.close()
    for record in result.kit.layers.values():
        used = "" if record.spec else ", 未用于情景 / not in the scenario"
        count = f" {record.count:,}" if record.count is not None else ""
        line = f"  {record.layer}{count}: {record.trust}{used} - {record.source}"
        click.echo(terminal_text(line, limit=_LINE), err=True)
    click.echo(f"情景 / scenario: {result.scenario.resolve()}")
    click.echo(f"数据来源 / sources: {(result.out_dir / 'data' / 'SOURCES.md').resolve()}")
    from carecircle.preflight import preflight
    from carecircle.scenario import load_scenario

    try:  # what validate would say, before the planner runs it
        preflight(load_scenario(result.scenario))
    except CareCircleError as exc:
        click.echo(terminal_text(f"待修正 / to fix before run: {exc}", limit=4 * _LINE), err=True)
        click.echo(f"下一步 / next: 修改 / edit {result.scenario}, then carecircle validate")
        return
    click.echo(f"下一步 / next: carecircle run {result.scenario}")


if __name__ == "__main__":  # pragma: no cover
    main()
