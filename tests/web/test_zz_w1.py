from tests.web.web_client import web_login, htmx
def test_smoke(client, world, storage_root):
    t = web_login(client, "owner@acme.test")
    r = client.get("/connectors/new?connector_id=s3")
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.post("/connectors", data={"connector_name": "<img src=x onerror=alert(1)>", "connector_id": "local_storage", "connector_metadata.path": "/etc", "csrf_token": t})
    print(r.status_code, r.get_data(as_text=True)[-3000:])
    (storage_root / "in").mkdir()
    r = client.post("/connectors", data={"connector_name": "<img src=x onerror=alert(1)>", "connector_id": "local_storage", "connector_metadata.path": str(storage_root / "in"), "csrf_token": t}, follow_redirects=True)
    print(r.status_code, r.get_data(as_text=True)[-3000:])
    r = client.post("/connectors", data={"connector_name": "pg", "connector_id": "postgresql", "connector_metadata.host": "h", "connector_metadata.database": "d", "connector_metadata.user": "u", "connector_metadata.password": "pw", "connector_metadata.port": "x", "csrf_token": t})
    print(r.status_code, r.get_data(as_text=True)[-3500:])
