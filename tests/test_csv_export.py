"""CSV downloads: a cell that a spreadsheet would run as a formula is defused; numbers stay numbers."""
from app.views.csv_export import csv_response


def test_formula_cells_are_defused_and_numbers_kept(app):
    response = csv_response(["имя", "балл"], [["=HYPERLINK(\"http://x\")", -1], ["+7 900", 4.5], ["@SUM(A1)", 0],
                                              ["Иванов", 5]], "x.csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffимя;балл\r\n")
    lines = text.splitlines()[1:]
    assert lines == ['"\'=HYPERLINK(""http://x"")";-1', "'+7 900;4.5", "'@SUM(A1);0", "Иванов;5"]
    assert response.headers["Content-Disposition"] == "attachment; filename=\"x.csv\"; filename*=UTF-8''x.csv"
