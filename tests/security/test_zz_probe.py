import json
from tests.security.scene import build_scene
def test_probe(world, storage_root):
    api = world.api("owner")
    s = build_scene(world, "acme", "owner", storage_root)
    w = s["private"]["workflow_id"]
    cases = [("POST","workflow/",'{"workflow_name":"n1","source_settings":NaN}'),
             ("POST","workflow/",'{"workflow_name":"n2","source_settings":{"a":Infinity}}'),
             ("POST","workflow/",'{"workflow_name":"n3","max_file_execution_count":1000000000000000000000000}'),
             ("POST","workflow/",'{"workflow_name":"n4","max_file_execution_count":1e400}'),
             ("POST","workflow/",'{"workflow_name":"n5","source_settings":"\\u0000"}'),
             ("POST","workflow/execute/",'{"workflow_id":"%s","timeout":100000000000000000000000000}' % w),
             ("POST","tool_instance/",'{"workflow_id":"%s","tool_id":"text_extractor","step":100000000000000000000000000}' % w),
             ("PATCH","tool_instance/%s/" % s["private"]["instance_id"],'{"step":-100000000000000000000000000}'),
             ("POST","workflow/%s/file-histories/clear/" % w,'{"execution_count_min":100000000000000000000000000}'),
             ("GET","workflow/%s/file-histories/?execution_count_min=100000000000000000000000000" % w, None),
             ("GET","workflow/?page=100000000000000000000000000", None),
             ("GET","workflow/?page_size=100000000000000000000000000", None),
             ("GET","workflow/execution/%s/logs/?after=100000000000000000000000000" % s["private"]["execution_id"], None),
             ("PATCH","workflow/endpoint/%s/" % s["private"]["endpoint_id"],'{"configuration":{"maxFiles":1e400}}'),
             ("PATCH","workflow/endpoint/%s/" % s["private"]["endpoint_id"],'{"configuration":{"folders":["a\\u0000"]}}'),
             ("PATCH","tool_instance/%s/" % s["private"]["instance_id"],'{"metadata":{"x":NaN}}'),
             ]
    for m, p, d in cases:
        r = api.request(m, p, data=d, content_type="application/json") if d else api.request(m, p)
        print("CASE", m, p[:40], (d or "")[:60], r.status_code, json.dumps(r.get_json())[:200])
    assert 0
