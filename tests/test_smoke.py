"""The app starts, the home page answers, the demo users can sign in."""


def test_home_page_anonymous(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Электронный журнал" in response.get_data(as_text=True)


def test_teacher_sees_only_own_class_in_list(login_as, world):
    page = login_as("teacher").get("/classunitview/list/").get_data(as_text=True)
    assert "5А" in page and "5Б" not in page
