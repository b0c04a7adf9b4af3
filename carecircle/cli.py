"""The ``carecircle`` command: a thin click group over the library.

Commands parse arguments, call one library function and print; errors of ours become a one-line
message (Chinese first, English alongside) and exit code 2, with nothing half-written.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import click

from carecircle import __version__
from carecircle.errors import CareCircleError, ScenarioError

EXIT_BAD_INPUT = 2


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except CareCircleError as exc:
        click.echo(f"错误 / error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("已中断，未写出任何结果 / interrupted; no output was written", err=True)
        sys.exit(130)


class _StageClock:
    """Prints one line per stage with the time the previous stage took."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.perf_counter()
        self.last: tuple[str, float] | None = None

    def __call__(self, i: int, n: int, label: str) -> None:
        self.close()
        if not self.quiet:
            click.echo(f"[{i}/{n}] {label} ...", err=True)
        self.last = (label, time.perf_counter())

    def message(self, label: str) -> None:
        self.close()
        if not self.quiet:
            click.echo(f"      {label} ...", err=True)
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
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = {"quiet": quiet > 0}


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
    from carecircle.scenario import load_scenario
    from carecircle.sources.layers import check_columns

    with _friendly_errors():
        sc = load_scenario(scenario, data_from=data_from)
        check_columns(sc)
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
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: maps/<scenario name>/].",
)
@_DATA_OPTION
@click.pass_context
def run(ctx: click.Context, scenario: Path, out_dir: Path | None, data_from: str | None) -> None:
    """运行情景：评估15分钟养老服务圈并出图 / score the circle and write the map and report."""
    from carecircle.outputs import write_outputs
    from carecircle.pipeline import run_scenario
    from carecircle.scenario import load_scenario

    clock = _StageClock(ctx.obj["quiet"])
    with _friendly_errors():
        sc = load_scenario(scenario, data_from=data_from)
        result = run_scenario(sc, progress=clock)
        out = out_dir or Path("maps") / sc.name
        paths = write_outputs(result, out, progress=clock.message)
    clock.close()
    circle = result.summary["village_circle"]
    click.echo(
        f"15分钟养老服务圈覆盖率 / 15-minute circle: {circle['share'] * 100:.1f}% "
        f"of {circle['older']:,.0f} older residents"
    )
    click.echo(f"地图 / map: {paths['index.html'].resolve()}")
    click.echo(f"报告 / report: {paths['report.html'].resolve()}")


@main.command()
def rules() -> None:
    """列出政策规则目录 / list the policy rule catalogue."""
    from carecircle.planning.policy import catalogue_table

    for row in catalogue_table():
        click.echo(f"{row['id']:<26} {row['scope']:<9} {row['title_zh']} / {row['title_en']}")
        click.echo(f"{'':<26} {row['params']}  [{row['citation']}]")


if __name__ == "__main__":  # pragma: no cover
    main()
