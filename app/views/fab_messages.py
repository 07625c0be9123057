"""Strings of Flask-AppBuilder's own templates and views that its Russian catalogue lacks.

Never imported: listed only so that `pybabel extract` puts them in our catalogue, which Flask-Babel
merges over FAB's (buttons «Show/Edit/Delete», the delete confirmation, filter names, …).
"""
from flask_babel import lazy_gettext as _l

FAB_MESSAGES = (
    _l("Add"), _l("Edit"), _l("Show"), _l("Delete"), _l("Detail"), _l("Order by"),
    _l("Are you sure you want to delete this item?"), _l("Database Error"), _l("Not a valid choice"),
    _l("Select Value"), _l("Contains (insensitive)"), _l("Start with"), _l("In"), _l("Not In"),
    _l("Edit User Information"), _l("User information changed"), _l("The user's password for authentication"),
    _l("User(s) exists in the role, cannot delete"), _l("Groups"), _l("List Groups"), _l("Show Group"),
    _l("Add Group"), _l("Edit Group"), _l("User(s) exists in the group, cannot delete"),
    _l("Either select a role or a group"),
    _l("Must have at least two capital letters, one special character, two digits, three lower case "
       "letters and a minimal length of 10."),
)
