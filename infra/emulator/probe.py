"""Readiness probes for infra/emulator/up (python3 standard library only).

  probe.py answer URL          exit 0 if anything answers HTTP at URL
  probe.py ready URL           exit 0 if the emulator at URL is ready:
                                 - LocalStack (has /_localstack/health): dynamodb, sqs and
                                   secretsmanager are available/running, and
                                 - any emulator: DynamoDB ListTables answers with TableNames
                               prints the reason on stderr otherwise
  probe.py kind URL            prints "localstack" or "other"
"""

import json
import sys
import urllib.error
import urllib.request

TIMEOUT = 5
NEEDED = ("dynamodb", "sqs", "secretsmanager")


def request(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def health(url):
    try:
        status, body = request(url.rstrip("/") + "/_localstack/health")
        if status == 200:
            return json.loads(body)
    except (OSError, ValueError):
        pass
    return None


def list_tables(url):
    # LocalStack and moto do not verify signatures; the credential scope names region and service.
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-target, Signature=0",
    }
    status, body = request(url.rstrip("/") + "/", data=b"{}", headers=headers)
    if status != 200 or b"TableNames" not in body:
        raise RuntimeError(f"ListTables: HTTP {status}: {body[:200]!r}")


def main():
    cmd, url = sys.argv[1], sys.argv[2]
    if cmd == "answer":
        try:
            request(url)
            return 0
        except OSError:
            return 1
    if cmd == "kind":
        print("localstack" if health(url) is not None else "other")
        return 0
    if cmd == "ready":
        h = health(url)
        if h is not None:
            services = h.get("services", {})
            missing = [s for s in NEEDED if services.get(s) not in ("available", "running")]
            if missing:
                print(f"not ready: {', '.join(f'{s}={services.get(s)}' for s in missing)}", file=sys.stderr)
                return 1
        try:
            list_tables(url)
        except Exception as e:  # noqa: BLE001 - any failure means "not ready yet"
            print(f"not ready: {e}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
