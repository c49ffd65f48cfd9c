from django.urls import reverse


def test_it_locks_out_after_five_failed_logins_even_with_the_right_password(client, owner, password):
    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": "owner@tokomaju.id", "password": "wrong"})
    response = client.post(url, {"username": "owner@tokomaju.id", "password": password})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_does_not_lock_out_another_user(client, owner, member, password):
    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": "owner@tokomaju.id", "password": "wrong"})
    response = client.post(url, {"username": "member@tokomaju.id", "password": password})
    assert response.status_code == 302
