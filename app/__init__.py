"""Application factory: database, migrations, AppBuilder, views, APIs and CLI."""
from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder

from app.extensions import csrf, db, migrate, stored_json
from app.security.hardening import check_production, limit_logins, security_headers, trust_proxy
from app.security.sessions import install as install_sessions
from app.services.params import IdConverter

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: object | str = "config.Config", overrides: dict | None = None) -> Flask:
    """Build the app; `overrides` (tests) win over the config object."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["id"] = IdConverter  # `<id:…>` routes: a number no row can have is a 404
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    check_production(app.config)  # no SECRET_KEY, the demo key or DEBUG: refuse to start
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    trust_proxy(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"json_serializer": stored_json,
                                               **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    db.init_app(app)
    csrf.init_app(app)
    security_headers(app)
    from app.exchange import capture  # noqa: F401 - so does the outbox
    from app.services import (  # noqa: F401 - session listeners:
        audit,  # the audit trail
        freeze,  # the closed periods' freeze
        stored_values,  # what the columns can hold
        timetable_clashes,  # no two lessons of a class, student, teacher or room at once
    )
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    with app.app_context():
        from app.api import register_apis
        from app.security.manager import SchoolSecurityManager
        from app.views import register_views
        from app.views.home import HomeView

        appbuilder = AppBuilder(indexview=HomeView, base_template="school_base.html",
                                security_manager_class=SchoolSecurityManager)
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
        register_apis(appbuilder)
        limit_logins(app, appbuilder)
        install_sessions(app)
    from app.cli import register_cli

    register_cli(app)
    return app
