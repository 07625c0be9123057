"""The password policy of passwords set through FAB's forms (add user, reset password, reset my
password) and its REST user API: FAB calls FAB_PASSWORD_COMPLEXITY_VALIDATOR with the password alone.

Passwords written by the CLI (`school init --password`, `school demo` with DEMO_PASSWORD) and by
test factories do not pass through here: the demo keeps its short `demo` password.
"""
import re

from flask import current_app, g, has_request_context, request
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import lazy_gettext as _l
from werkzeug.security import generate_password_hash

from app.services.params import as_id

MIN_LENGTH = 10

# Lower-cased stems of passwords every guessing list starts with; digits and punctuation around them
# do not make them safe ("Qwerty12345" is "qwerty").
COMMON = frozenset("""
password passw0rd pass parol parol' пароль admin administrator root user guest test qwerty qwertyuiop
asdfgh asdfghjkl zxcvbn zxcvbnm йцукен йцукенгшщз фывапр qazwsx 1q2w3e 1q2w3e4r 1q2w3e4r5t qwe asd zxc
abc abcd abcdef letmein welcome iloveyou monkey dragon football baseball master shadow sunshine
princess superman batman trustno1 school shkola школа uchitel учитель director директор journal
zhurnal журнал dnevnik дневник
""".split())


def _username() -> str:
    """The login the password is for, when the request tells it (form, JSON body, ?pk=, own user)."""
    if not has_request_context():
        return ""
    name = request.form.get("username")
    if not name and request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    if name:
        return str(name)
    sm = current_app.appbuilder.sm
    pk = request.args.get("pk") or (request.view_args or {}).get("pk")
    pk = as_id(pk)  # a number no user can have names none (a huge one overflowed the database)
    user = sm.get_user_by_id(pk) if pk else None
    if user is None and (request.endpoint or "").startswith("ResetMyPasswordView"):
        user = getattr(g, "user", None)
    return getattr(user, "username", "") or ""


def _stem(password: str) -> str:
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower())


def policy_problem(password: str, username: str = "") -> str | None:
    """The first rule the password breaks, as a translated message; None if it is acceptable."""
    password = password or ""
    minimum = current_app.config.get("PASSWORD_MIN_LENGTH", MIN_LENGTH)
    if len(password) < minimum:
        return str(_l("The password must be at least %(n)d characters long.", n=minimum))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return str(_l("The password must contain both letters and digits."))
    if username and len(username) >= 3 and username.lower() in password.lower():
        return str(_l("The password must not contain the user name."))
    if password.lower() in COMMON or _stem(password) in COMMON or len(set(password.lower())) < 4:
        return str(_l("This password is too easy to guess: choose another one."))
    return None


def password_policy(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: raise FAB's error with a clear message when a rule is broken."""
    problem = policy_problem(password, _username())
    if problem:
        raise PasswordComplexityValidationError(problem)


def password_hash(password: str) -> str:
    """The stored hash of a password written outside FAB's forms, by FAB's own method setting
    (scrypt by default; the tests set a cheap one, since every login verifies it)."""
    return generate_password_hash(password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"))
