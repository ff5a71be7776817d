"""``gnomon devices DIR``, ``gnomon devices status`` and ``gnomon device simulate NAME``."""

from __future__ import annotations

import typer

from gnomon.cli import output
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec

device_app = typer.Typer(help="The device side: simulated devices.", no_args_is_help=True)


def devices(
    target: str = typer.Argument(..., help="A folder of <device>/tasks.py modules, or 'status'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Discover device modules (DIR) and bring their jobs in step; or 'status'. Exits 1 when
    a device failed (a cron wrapper notices), after bringing the others in step."""
    if target == "status":
        show_status(as_json)
        return
    from gnomon.devices.discovery import apply_discovery

    with open_scheduler() as scheduler:
        reports = apply_discovery(scheduler, target)
    if as_json:
        output.print_json(
            [
                {"device": r.device, "ok": r.ok, "jobs": r.jobs, "error": r.error, **r.changes}
                for r in reports
            ]
        )
    else:
        for r in reports:
            if r.ok:
                changes = ", ".join(f"{n} {k}" for k, n in r.changes.items() if n)
                shown = f"{len(r.jobs)} job(s) ({changes})"
                output.console.print(f"[green]ok[/]     {r.device}: {shown}")
            else:
                output.console.print(f"[red]failed[/] {r.device}: {r.error}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def show_status(as_json: bool) -> None:
    """The last discovery result of every device."""
    from rich.table import Table

    from gnomon.devices.discovery import device_status

    with open_scheduler() as scheduler:
        rows = device_status(scheduler)
    if as_json:
        output.print_json(rows)
        return
    table = Table(title=f"{len(rows)} device(s)", title_justify="left")
    for column in ("device", "status", "jobs", "checked (UTC)", "problem"):
        table.add_column(column, overflow="fold")
    for row in rows:
        state = "[green]ok[/]" if row["ok"] else "[red]failed[/]"
        checked = output.when(row["at"])
        table.add_row(row["device"], state, str(len(row["jobs"])), checked, row["error"] or "")
    output.console.print(table)


@device_app.command("simulate")
def simulate(
    name: str = typer.Argument(..., help="coop"),
    broker: str | None = typer.Option(
        None, "--broker", help="MQTT broker (default: GNOMON_MQTT_URL, else mqtt://127.0.0.1:1883)."
    ),
    base: str | None = typer.Option(None, "--base", help="Base topic (coop: coop/door)."),
) -> None:
    """Run a simulated device until Ctrl-C, printing each command it executes."""
    from gnomon.devices.simulate import SIMULATIONS

    if name not in SIMULATIONS:
        raise InvalidSpec(f"no simulation {name!r}; available: {', '.join(SIMULATIONS)}")
    from gnomon.settings import Settings

    options = {"broker": broker or Settings.from_env().mqtt_url} | ({"base": base} if base else {})
    device = SIMULATIONS[name](**options)
    output.console.print(f"simulated {name} on {device.base}/… — Ctrl-C to stop")
    device.on_handled = lambda command, reply: output.console.print(
        f"{command} → {reply}", markup=False
    )
    device.run_forever()


def register(app: typer.Typer) -> None:
    app.command()(devices)
    app.add_typer(device_app, name="device")
