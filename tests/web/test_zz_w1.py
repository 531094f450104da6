from tests.web.web_client import web_login, htmx
def test_smoke(client, world):
    t = web_login(client, "owner@acme.test")
    r = client.get("/keys")
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.post("/keys", data={"permission": "read", "csrf_token": t}, headers=htmx())
    print(r.status_code, r.get_data(as_text=True))
    r = client.post("/keys", data={"permission": "bad", "csrf_token": t})
    print(r.status_code, r.get_data(as_text=True)[-2500:])
