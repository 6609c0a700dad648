"""Tests of summarize.py, the contract test's judge: run.sh runs them first
(python -m unittest), so a judge that lets failures through stops the run."""

import base64
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
import unittest.mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402


def scenario(check, operation, status, error_code="", field=""):
    body = {"error": {"code": error_code, "message": "m", "request_id": "r"}}
    if field:
        body["error"]["details"] = {"field": field}
    method, path = operation.split(" ", 1)
    return {"ScenarioFinished": {"phase": "fuzzing", "recorder": {
        "label": operation,
        "cases": {"c1": {"value": {"method": method, "path": path}}},
        "checks": {"c1": [{"name": check, "status": "failure", "failure_info": {"failure": {
            "code": "ST", "operation": operation, "message": "bad\nInvalid component: x"}}}]},
        "interactions": {"c1": {
            "request": {"method": method, "uri": "http://127.0.0.1:1" + path,
                        "headers": {"Authorization": ["[Filtered]"], "Content-Type": ["application/json"]},
                        "body": {"$base64": base64.b64encode(b"null").decode()}},
            "response": {"status_code": status,
                         "content": {"$base64": base64.b64encode(json.dumps(body).encode()).decode()}}}},
    }}}


class JudgeTest(unittest.TestCase):
    def judge(self, events, allowlist, finished=True):
        """Writes one admin report and an allow-list; returns (exit code, output)."""
        t = tempfile.mkdtemp()
        with open(os.path.join(t, "admin.ndjson"), "w") as f:
            for e in events + ([{"EngineFinished": {}}] if finished else []):
                f.write(json.dumps(e) + "\n")
        path = os.path.join(t, "allow.toml")
        with open(path, "w") as f:
            f.write(allowlist)
        out = io.StringIO()
        argv = ["summarize.py", "--allowlist", path, "--reports", t, "admin"]
        with contextlib.redirect_stdout(out), unittest.mock.patch.object(sys, "argv", argv):
            try:
                code = summarize.main()
            except SystemExit as e:
                code = e.code
        return code, out.getvalue()

    def test_verdicts(self):
        entry = ('[[allow]]\ncheck = "positive_data_acceptance"\noperation = "GET /v1/users"\n'
                 'error_code = "invalid_cursor"\nreason = "opaque cursor"\n')
        cases = [
            ("clean run passes", [], "", 0),
            ("unlisted failure fails", [scenario("positive_data_acceptance", "GET /v1/users", 400, "invalid_cursor")], "", 1),
            ("listed failure passes", [scenario("positive_data_acceptance", "GET /v1/users", 400, "invalid_cursor")], entry, 0),
            ("other error code on a listed operation fails",
             [scenario("positive_data_acceptance", "GET /v1/users", 400, "validation_failed")], entry, 1),
            ("other operation fails", [scenario("positive_data_acceptance", "GET /v1/groups/{group_id}/members", 400,
                                                "invalid_cursor")], entry, 1),
            ("server error fails", [scenario("not_a_server_error", "GET /v1/users", 500, "internal")], entry, 1),
        ]
        for name, events, allow, want in cases:
            with self.subTest(name):
                code, out = self.judge(events, allow)
                self.assertEqual(code, want, out)

    def test_unfinished_run_fails(self):
        code, out = self.judge([], "", finished=False)
        self.assertEqual(code, 1, out)

    def test_bad_allowlist_refused(self):
        cases = [
            ("server errors cannot be listed",
             '[[allow]]\ncheck = "not_a_server_error"\noperation = "GET /v1/users"\nreason = "r"\n'),
            ("schema violations cannot be listed",
             '[[allow]]\ncheck = "response_schema_conformance"\noperation = "GET /v1/users"\nreason = "r"\n'),
            ("reason required", '[[allow]]\ncheck = "unsupported_method"\noperation = "GET /v1/users"\n'),
            ("no wildcard", '[[allow]]\ncheck = "unsupported_method"\noperation = "GET /v1/*"\nreason = "r"\n'),
            ("operation needs a method", '[[allow]]\ncheck = "unsupported_method"\noperation = "/v1/users"\nreason = "r"\n'),
        ]
        for name, allow in cases:
            with self.subTest(name):
                code, out = self.judge([], allow)
                self.assertNotIn(code, (0, None), out)

    def test_reproduction_hides_the_token(self):
        event = scenario("negative_data_rejection", "PATCH /v1/users/{user_id}", 200)
        inter = event["ScenarioFinished"]["recorder"]["interactions"]["c1"]
        line = summarize.reproduction("admin", inter)
        self.assertIn('"Authorization: Bearer $ADMIN_TOKEN"', line)
        self.assertIn("--data-binary null", line)
        self.assertIn("# -> 200", line)


if __name__ == "__main__":
    unittest.main()
