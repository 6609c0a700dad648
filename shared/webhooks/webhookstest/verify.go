// Package webhookstest checks deliveries with an independent Standard
// Webhooks verifier (the specification's Python library, not our code),
// for the tests of shared/webhooks and the functions that deliver.
package webhookstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Verify checks a delivery with the standardwebhooks package from PyPI,
// run by the Python that infra/scripts/standardwebhooks.sh installs it
// in (.tokenim/standardwebhooks/venv, make test installs it first), or
// by $TOKENIM_STANDARDWEBHOOKS_PYTHON. Under make test (which installs
// it and sets TOKENIM_REQUIRE_VERIFIER) or against an emulator it fails
// when the verifier is missing: a signature nobody checked is not a
// pass. Only the plain fast tier (go test ./... with no emulator, on a
// clone that never ran make test) skips, saying why.
func Verify(t testing.TB, secret string, body []byte, h http.Header) {
	t.Helper()
	py, err := verifierPython()
	if err != nil {
		msg := fmt.Sprintf("the Standard Webhooks verifier is missing (run ./infra/scripts/standardwebhooks.sh): %v", err)
		if os.Getenv("TOKENIM_REQUIRE_VERIFIER") == "" && os.Getenv("AWS_ENDPOINT_URL") == "" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	dir := t.TempDir()
	headers, _ := json.Marshal(map[string]string{"webhook-id": h.Get("webhook-id"), "webhook-timestamp": h.Get("webhook-timestamp"),
		"webhook-signature": h.Get("webhook-signature")})
	for name, b := range map[string][]byte{"body": body, "headers": headers, "secret": []byte(secret)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := `import json, sys
from standardwebhooks.webhooks import Webhook
d = sys.argv[1]
body = open(d + "/body", "rb").read()
headers = json.load(open(d + "/headers"))
Webhook(open(d + "/secret").read()).verify(body, headers)
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("standardwebhooks (Python) rejected the signature: %v\n%s", err, out)
	}
}

// verifierPython is the interpreter that imports standardwebhooks:
// $TOKENIM_STANDARDWEBHOOKS_PYTHON, else the venv the install script
// links from the repository's .tokenim.
func verifierPython() (string, error) {
	py := os.Getenv("TOKENIM_STANDARDWEBHOOKS_PYTHON")
	if py == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for { // the repository root: the nearest go.mod above the test's package
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", errors.New("no go.mod above the working directory")
			}
			dir = parent
		}
		py = filepath.Join(dir, ".tokenim", "standardwebhooks", "venv", "bin", "python")
	}
	if out, err := exec.Command(py, "-c", "import standardwebhooks").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v %s", py, err, out)
	}
	return py, nil
}
