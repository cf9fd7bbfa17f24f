"""The appliance's audit trail goes up with the sync: a line made at the desk arrives once in the cloud's trail, with
the office and the device that sent it, whatever is repeated on the way (both engines)."""

from __future__ import annotations

from edge import audit as edge_audit
from tests.cloud.conftest import run_db
from tests.sync.conftest import START, enrol, make_agent, run


def test_a_desk_line_arrives_once_with_its_office_and_device(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    with edge_store.write() as db:
        edge_audit.record(db, START, actor="loket1", action="locker.open", target="locker:2",
                          detail={"visit": "v-1", "reason": "checkout"}, address="192.168.10.21")
    [made] = edge_audit.search(edge_store.read)
    agent, transport = make_agent(edge_store, enrolment, cloud)
    played = []

    def duplicate_first_batch(request):
        if request.method == "POST" and not played:
            played.append(request.url.path)
            return "duplicate"  # the cloud gets the batch twice
        return None

    transport.faults.append(duplicate_first_batch)
    run(agent.round())
    run(agent.round())
    assert played == ["/sync/v1/events"]
    rows = run_db(cloud, "SELECT * FROM audit_log WHERE origin = 'edge'")
    assert len(rows) == 1
    [line] = rows
    assert line["id"] == made["id"] and line["actor"] == "loket1" and line["action"] == "locker.open"
    assert line["target"] == "locker:2" and line["address"] == "192.168.10.21"
    assert line["office_code"] == "7400" and line["device_id"] == enrolment.device_id
    assert '"reason": "checkout"' in line["detail"]
    shown = client_search(cloud, office_code="7400", action="locker.open")
    assert [(s["id"], s["at"]) for s in shown] == [(made["id"], START)]


def client_search(cloud, **filters):
    from cloud import audit

    return cloud.blocking_portal.call(lambda: audit.search(cloud.app.state.db, **filters))
