"""An agent's provisioning, tested against an ospbox namespace: provision → move the clock →
verify what the agent sent."""
from conftest import call


def test_a_sandbox_expires_on_the_sandbox_clock(namespace):
    # The agent under test would do this; here it is written out.
    status, res = call("POST", namespace + "/osp/v1/provision",
                       {"offering_id": "acmedb/redis", "tier_id": "free", "sandbox": {"enabled": True, "ttl_hours": 1}})
    assert status == 201, res
    resource = res["resource_id"]

    # An hour and a minute later, on the namespace's own clock, the sandbox is gone.
    status, _ = call("POST", namespace + "/ospbox/v1/clock/advance", {"seconds": 3660})
    assert status == 200
    status, _ = call("GET", namespace + "/osp/v1/resources/" + resource)
    assert status == 404

    # The journal shows what the agent sent: one provision of acmedb/redis.
    status, verdict = call("POST", namespace + "/ospbox/v1/requests/verify",
                           {"match": {"method": "POST", "path": "/osp/v1/provision", "body": {"/offering_id": "acmedb/redis"}}, "count": 1})
    assert status == 200, verdict


def test_namespaces_do_not_see_each_other(namespace, ospbox):
    status, res = call("POST", namespace + "/osp/v1/provision", {"offering_id": "acmedb/redis", "tier_id": "free"})
    assert status == 201
    # The default namespace has never seen that resource.
    status, _ = call("GET", ospbox + "/osp/v1/resources/" + res["resource_id"])
    assert status == 404
