"""The resume journal survives a kill mid-write: records before a torn last line stand."""
from __future__ import annotations

from collector.journal import Journal


def test_replay_after_a_crash_mid_write(tmp_path):
    j, resumed = Journal.open(tmp_path, "k1", {"bundle": "AzureStackLogs-1-AZS-ERCS01"}, max_age_hours=24)
    assert not resumed
    j.record_zip("ECE_1.zip", {"bytes": 10, "delivered": False})
    j.record_zip("ECE_1.zip", {"bytes": 10, "delivered": True})
    j.record_zip("URP_1.zip", {"bytes": 20, "delivered": False})
    j.forget_zip("URP_1.zip")
    with open(j.path, "a") as f:
        f.write('{"zip": "CA_1.zip", "ent')  # the process died here

    again, resumed = Journal.open(tmp_path, "k1", {"bundle": "other"}, max_age_hours=24)
    assert resumed
    assert again.data["bundle"] == "AzureStackLogs-1-AZS-ERCS01"
    assert again.zips() == {"ECE_1.zip": {"bytes": 10, "delivered": True}}


def test_a_finished_or_old_journal_starts_afresh(tmp_path):
    j, _ = Journal.open(tmp_path, "k2", {"bundle": "b1"}, max_age_hours=24)
    j.record_zip("ECE_1.zip", {"bytes": 10})
    j.finish()
    again, resumed = Journal.open(tmp_path, "k2", {"bundle": "b2"}, max_age_hours=24)
    assert not resumed and again.data["bundle"] == "b2" and again.zips() == {}
    again.record_zip("ECE_1.zip", {"bytes": 10})
    stale, resumed = Journal.open(tmp_path, "k2", {"bundle": "b3"}, max_age_hours=0)
    assert not resumed and stale.data["bundle"] == "b3"


def test_what_a_resumed_run_records_survives_a_second_crash(tmp_path):
    """Killed twice: the zips the first resumed run finished are not rebuilt after the second kill."""
    j, _ = Journal.open(tmp_path, "k3", {"bundle": "b"}, max_age_hours=24)
    j.record_zip("ECE_1.zip", {"bytes": 10, "delivered": True})
    with open(j.path, "a") as f:
        f.write('{"zip": "CA_1.zip", "ent')  # first kill, mid-write
    resumed_run, resumed = Journal.open(tmp_path, "k3", {"bundle": "b"}, max_age_hours=24)
    assert resumed
    resumed_run.record_zip("CA_1.zip", {"bytes": 20, "delivered": True})
    # second kill: nothing more written
    again, resumed = Journal.open(tmp_path, "k3", {"bundle": "b"}, max_age_hours=24)
    assert resumed
    assert again.zips() == {"ECE_1.zip": {"bytes": 10, "delivered": True}, "CA_1.zip": {"bytes": 20, "delivered": True}}
