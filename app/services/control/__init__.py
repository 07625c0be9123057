"""The deputy's control of how the journal is kept (контроль ведения журнала): accumulation of marks,
timeliness of filling, finals that differ from the proposal, attendance. Each report is a few GROUP BY
statements over the journals the user reads (`app.security.scope.journal_clause`); Python only merges the
aggregated rows. A report is a list of tables that the page, the CSV and the PDF all show the same way."""
from dataclasses import dataclass, field


@dataclass
class Table:
    """One table of a report: `columns` are (key, label) pairs, `rows` dicts by key."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)

    def cells(self) -> list[list]:
        """The rows as lists in column order (CSV, PDF)."""
        return [[row.get(key, "") for key, _label in self.columns] for row in self.rows]

    def header(self) -> list[str]:
        """The column labels."""
        return [str(label) for _key, label in self.columns]


@dataclass
class Report:
    """A control report: its title, a note on how it counts, and its tables."""

    title: str
    note: str
    tables: list[Table]

    def table(self, key: str) -> Table:
        """The table named `key` (KeyError when there is none)."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def person(surname: str, name: str, patronymic: str | None) -> str:
    """«Иванов И. И.» from the columns of a row (no object loaded per row)."""
    initials = " ".join(f"{p[0]}." for p in (name, patronymic) if p)
    return f"{surname} {initials}".strip()
