"""The page's language and the error pages: `<html lang>` of the reader's locale, and 403, 404 and 500 in
that language (werkzeug's own pages are English) with the school's navigation."""
from flask import current_app, has_request_context, render_template, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

ERROR_TEXTS = {
    403: (_l("Access denied"), _l("Your role does not give access to this page.")),
    404: (_l("Page not found"), _l("There is no such page, or the record was deleted.")),
    500: (_l("Something went wrong"), _l("The page could not be shown. The error has been logged; try again "
                                           "later or tell the school's administrator.")),
}


def reader_locale() -> str | None:
    """FAB's choice of language (a known `_l_` argument, else the session's, else the school's default)
    without writing the default into the session as FAB does: every REST call with a token and no cookie
    was answered with a new signed session cookie it had not asked for."""
    if not has_request_context():
        return None
    babel = current_app.appbuilder.bm
    asked = request.args.get("_l_")
    if asked is not None:
        return asked if asked in babel.languages else babel.babel_default_locale
    return session.get("locale") or babel.babel_default_locale


def register_locale(app) -> None:
    """Choose the reader's language, mark every page with it and answer errors with a page in it."""
    app.extensions["babel"].locale_selector = reader_locale

    @app.after_request
    def _html_lang(response):
        if response.mimetype == "text/html" and not response.direct_passthrough and not response.is_streamed:
            body = response.get_data()
            if b"<html>" in body[:300]:
                response.set_data(body.replace(b"<html>", f'<html lang="{get_locale() or "ru"}">'.encode(), 1))
        return response

    for code in ERROR_TEXTS:
        app.register_error_handler(code, _error_page)


def _error_page(err):
    """The error as a page of the journal; the REST API keeps its JSON answers."""
    code = err.code if isinstance(err, HTTPException) else 500
    if request.path.startswith("/api/") or request.is_json:
        return (err if isinstance(err, HTTPException) else str(err)), code
    title, text = ERROR_TEXTS[code]
    appbuilder = current_app.appbuilder
    return render_template("error.html", code=code, title=title, text=text, appbuilder=appbuilder,
                           base_template=appbuilder.base_template), code
