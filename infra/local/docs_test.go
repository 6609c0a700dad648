package local

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestReadmeLocalCommands runs README's "Trying it locally" commands and
// `make signup` against a stack on a port that is not 3000 (as with
// TOKENIM_REST_ADDR): both must find it through local.json, as the
// README says, with no hard-coded address.
func TestReadmeLocalCommands(t *testing.T) {
	s := startStack(t, nil, func(o *Options) { o.Params = map[string]string{"CognitoUserPool": "create"} })
	if strings.HasSuffix(s.RESTURL, ":3000") {
		t.Fatalf("the stack is on %s; the test needs another port", s.RESTURL)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, ".tokenim")
	cred, secret, err := auth.NewService(nil, s.db.Credentials, s.db.Users).CreateCredential(context.Background(), "readme")
	if err != nil {
		t.Fatal(err)
	}
	info := Info{RESTURL: s.RESTURL, Admin: AdminCred{KeyID: cred.KeyID, Secret: secret}, UserPool: s.UserPool.Info()}
	if err := WriteInfo(filepath.Join(state, "local.json"), info); err != nil {
		t.Fatal(err)
	}
	root := template.RepoRoot()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := shBlockAfter(t, string(readme), "### Trying it locally")

	// The README's block, as a developer pastes it in the checkout.
	out := runBounded(t, dir, nil, "bash", "-euo", "pipefail", "-c", block)
	if !strings.Contains(out, `"access_token"`) {
		t.Fatalf("README commands gave no chat token:\n%s\n%s", out, s.out)
	}

	// "Calling the API", with its "locally" lines as a developer would
	// uncomment them: an admin token, a user, that user's token.
	call := strings.ReplaceAll(shBlockAfter(t, string(readme), "### Calling the API"), "\n#   ", "\n")
	out = runBounded(t, dir, nil, "bash", "-euo", "pipefail", "-c", strings.Replace(call, "alice", testenv.ID("al"), -1))
	if strings.Count(out, `"user_id"`) != 2 || !strings.Contains(out, `"access_token"`) {
		t.Fatalf("README's Calling the API gave no user and token:\n%s\n%s", out, s.out)
	}

	// make signup, with make dev's state in TOKENIM_STATE.
	sub := testenv.ID("dave")
	runBounded(t, root, []string{"AWS_CONFIG_FILE=/dev/null"}, "make", "-s", "signup", "SUB="+sub, "NAME=Dave", "TOKENIM_STATE="+state)
	admin := map[string]string{"Authorization": "Bearer " + s.adminToken(t)}
	if u := do(t, "GET", s.RESTURL+"/v1/users/"+sub, admin, nil); u.status != 200 || u.json["nickname"] != "Dave" {
		t.Fatalf("make signup did not create the user: %d %s\n%s", u.status, u.body, s.out)
	}
}

// shBlockAfter returns the first ```sh block after the heading.
func shBlockAfter(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, heading)
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("no sh block after %q", heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated sh block after %q", heading)
	}
	return block
}

// runBounded runs a command in dir (at most a minute) and returns its
// output; a failure fails the test.
func runBounded(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, b)
	}
	return string(b)
}

// TestLocalJSONDocumented: docs/local.md's local.json example has exactly
// the keys make dev writes (Info), user_pool's included.
func TestLocalJSONDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(template.RepoRoot(), "docs", "local.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "writes `.tokenim/local.json`")
	_, rest, ok := strings.Cut(rest, "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/local.md has no local.json example")
	}
	var documented map[string]any
	if err := json.Unmarshal([]byte(example), &documented); err != nil {
		t.Fatalf("the example does not parse: %v\n%s", err, example)
	}
	written, _ := json.Marshal(Info{UserPool: &UserPoolInfo{}})
	var actual map[string]any
	if err := json.Unmarshal(written, &actual); err != nil {
		t.Fatal(err)
	}
	for _, level := range []struct {
		name      string
		doc, real map[string]any
	}{
		{"local.json", documented, actual},
		{"user_pool", asObject(documented["user_pool"]), asObject(actual["user_pool"])},
	} {
		if got, want := slices.Sorted(maps.Keys(level.doc)), slices.Sorted(maps.Keys(level.real)); !slices.Equal(got, want) {
			t.Errorf("%s keys documented %v, written %v", level.name, got, want)
		}
	}
}

func asObject(v any) map[string]any { m, _ := v.(map[string]any); return m }
