"""Issue 18 p.4: the demo's patronymics are formed as Russian documents write them, for every male name
the demo gives a father (no «Дмитрийович», «Михаилович»)."""
from app.services.demo.names import MALE, patronymic

EXPECTED = {
    "Александр": "Александрович", "Алексей": "Алексеевич", "Андрей": "Андреевич", "Артём": "Артёмович",
    "Богдан": "Богданович", "Вадим": "Вадимович", "Виктор": "Викторович", "Владимир": "Владимирович",
    "Глеб": "Глебович", "Григорий": "Григорьевич", "Даниил": "Даниилович", "Денис": "Денисович",
    "Дмитрий": "Дмитриевич", "Егор": "Егорович", "Иван": "Иванович", "Илья": "Ильич", "Кирилл": "Кириллович",
    "Константин": "Константинович", "Лев": "Львович", "Максим": "Максимович", "Марк": "Маркович",
    "Матвей": "Матвеевич", "Михаил": "Михайлович", "Никита": "Никитич", "Николай": "Николаевич",
    "Олег": "Олегович", "Павел": "Павлович", "Роман": "Романович", "Савелий": "Савельевич",
    "Сергей": "Сергеевич", "Степан": "Степанович", "Тимофей": "Тимофеевич", "Фёдор": "Фёдорович",
    "Юрий": "Юрьевич", "Ярослав": "Ярославович",
}
FEMININE = {"Дмитрий": "Дмитриевна", "Михаил": "Михайловна", "Илья": "Ильинична", "Никита": "Никитична",
            "Юрий": "Юрьевна", "Николай": "Николаевна", "Лев": "Львовна", "Иван": "Ивановна"}


def test_every_male_name_of_the_demo_gives_the_right_patronymic():
    assert set(MALE) == set(EXPECTED), "a demo name without its expected patronymic"
    wrong = {name: patronymic(name, True) for name in MALE if patronymic(name, True) != EXPECTED[name]}
    assert wrong == {}


def test_daughters_patronymics():
    wrong = {name: patronymic(name, False) for name in FEMININE if patronymic(name, False) != FEMININE[name]}
    assert wrong == {}


def test_rules_beyond_the_demo_list():
    assert patronymic("Василий", True) == "Васильевич"
    assert patronymic("Арсений", False) == "Арсеньевна"
    assert patronymic("Игорь", True) == "Игоревич"
