"""The custom REST endpoints read their JSON bodies through one helper (app/services/params.py): a wrong type is a
422 with the translated message, and nothing is written."""
import pytest

from app.models import FinalGrade
from tests.finals_helpers import q1
from tests.journal_helpers import count


@pytest.mark.parametrize(("change", "says"), [
    ({"version": "1"}, "version: ожидается целое число — номер прочитанной версии."),
    ({"value": 5}, "value: одно из 5, 4, 3, 2, зач, незач, н/а, осв."),
    ({"status": "deferred", "deferral_reason": "болезнь", "deferral_deadline": "31.12.2026"},
     "deferral_deadline: дата в формате ГГГГ-ММ-ДД."),
    ({"student": "1"}, "student"),
])
def test_a_final_with_a_wrongly_typed_field_is_refused_and_nothing_is_written(world, call, change, says):
    body = {"student": world.students["Алексеев"].id, "subject": world.subjects["math"].id,
            "period": q1(world).id, "value": "5"} | change
    response = call("director", "post", "/api/v1/finalgrade/", json=body)
    assert response.status_code == 422, response.json
    assert says in str(response.json)
    assert count(FinalGrade) == 0
