"""``sage plugins`` and ``sage info``: what is installed and how to configure it."""

from __future__ import annotations

import json

import click

from sage_core.cli.context import complete_compressor_ids, get_registry


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins with their status and what they register."""
    registry = get_registry()
    rows = [record.as_dict() for record in registry.records]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No sage plugins installed.")
        return
    from sage_core.cli.tables import print_table

    print_table(("plugin", "version", "entry point", "modalities", "compressors", "status"), (
        (row["name"], row["version"], row["entry_point"], ", ".join(row["modalities"]), ", ".join(row["compressors"]),
         row["status"] if row["status"] != "error" else f"error: {row['error']}")
        for row in rows))


@click.command("info")
@click.argument("compressor_id", shell_complete=complete_compressor_ids)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON schema of the config.")
def info_command(compressor_id: str, as_json: bool) -> None:
    """Show a compressor's config: every field, its default and what it means."""
    spec = get_registry().compressor(compressor_id)
    config_cls = spec.load_config()
    schema = config_cls.model_json_schema()
    if as_json:
        click.echo(json.dumps(schema, indent=2))
        return
    reference = ", reference only: never picked by modality" if spec.reference else ""
    click.echo(f"{spec.id}  (modality: {spec.modality}, plugin: {spec.plugin}{reference})")
    if spec.summary:
        click.echo(spec.summary)
    _describe_shipped_run(spec)
    click.echo("\nconfig (override with -o key=value or --config FILE.toml):")
    for key, value, description in _flatten_fields(config_cls()):
        note = f"  # {description}" if description else ""
        click.echo(f"  {key} = {json.dumps(value)}{note}")


def _describe_shipped_run(spec: object) -> None:
    """Say whether trained weights ship with the plugin, how they were made and what they score."""
    shipped = spec.shipped_path()  # type: ignore[attr-defined]
    if shipped is None:
        click.echo("\nno trained weights ship with it: train them with `sage train "
                   f"{spec.id}`")  # type: ignore[attr-defined]
        return
    from sage_core.rundir import RunDirectory

    run = RunDirectory(shipped)
    made = run.shipped() or {}
    click.echo(f"\ntrained weights ship with it ({shipped}):")
    for key in ("command", "seed", "threads", "commit", "machine", "trained_at"):
        if key in made:
            click.echo(f"  {key}: {made[key]}")
    evaluation = run.evaluation()
    if evaluation is not None:
        metric, baseline = evaluation.primary_metric, evaluation.improvement["over_baseline"]
        click.echo(f"  {evaluation.split} split ({evaluation.samples} samples): {metric} {baseline.trained:.4g}, "
                   f"baseline codec {baseline.other:.4g} (ratio {baseline.ratio:.3g})")
    for name, figures in made.get("evaluations", {}).items():
        click.echo(f"  {name}: {figures}")


def _flatten_fields(model: object, prefix: str = "") -> list[tuple[str, object, str]]:
    from pydantic import BaseModel

    rows: list[tuple[str, object, str]] = []
    assert isinstance(model, BaseModel)
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rows.extend(_flatten_fields(value, f"{prefix}{name}."))
        else:
            rows.append((f"{prefix}{name}", value, field.description or ""))
    return rows


COMMANDS = [plugins_command, info_command]
