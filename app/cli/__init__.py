"""The command line (`flask --app run ...`): one module per command group, registered here."""


def register_cli(app) -> None:
    """Attach the command groups to the app."""
    from app.cli.audit import audit_cli
    from app.cli.exchange import exchange_cli
    from app.cli.extracts import extracts_cli
    from app.cli.forecast import forecast_cli
    from app.cli.school import school_cli
    from app.cli.timetable import timetable_cli
    from app.cli.year import new_year_command  # noqa: F401 - registers `school new-year`

    for group in (school_cli, audit_cli, forecast_cli, extracts_cli, exchange_cli, timetable_cli):
        app.cli.add_command(group)
