"""A state directory written by an earlier release still loads.

tests/fixtures/state-55f4eb0/dosegate.db was written by the gateway at
commit 55f4eb0 (the release before the saved state was checked field by
field on load) after the resume-without-reset scenario: one pump, one bed,
one latched alert, audit seq 16. This build must open it with the same
contents, not refuse it. The saved state is still a native-layout blob
(x86_64 little-endian, FORMAT_VERSION 2; docs/store.md); versioned records
with migrations replace it in issue 9, and this fixture stays as the oldest
state a release must read.
"""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "state-55f4eb0", "dosegate.db")


class Fixture(unittest.TestCase):
    def test_state_of_release_55f4eb0_loads(self):
        with harness.Env(devices=["pump-1"]) as env:
            state = env.path("state")
            os.makedirs(state)
            shutil.copy(FIXTURE, os.path.join(state, "dosegate.db"))
            cfg = dg.write_gateway_config(env, state_dir=state)
            gw = dg.start_gateway(env, config=cfg, wait_connected=False)
            line = gw.wait_for_line('msg="state store open"', timeout=20, stream="stderr")
            for want in ("created=0", "pumps=1", "beds=1", "active_alerts=1", "audit_seq=16"):
                self.assertIn(want, line, gw.log())
            self.assertEqual(gw.terminate(20), 0, gw.log())


if __name__ == "__main__":
    unittest.main()
