package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wsCodeSources are the files whose code a WebSocket frame runs: this
// handler, the chat use cases its actions call (send, read, sync,
// conversation, react, pin, and what they check), the send guards main.go
// chains (moderation, the pre-send hook, attachments), the rate limiter
// and the strict decoder. An action that comes to call into another file
// adds it here.
var wsCodeSources = []string{
	"*.go",
	"../../shared/chat/{access,chat,conversations,editguard,guard,mentions,pins,react,send,seq,thread,attachment}.go",
	"../../shared/moderation/{guard,wordfilter,payload}.go",
	"../../shared/presend/presend.go",
	"../../shared/attachments/guard.go",
	"../../shared/ratelimit/ratelimit.go",
	"../../shared/strictjson/strictjson.go",
	"../../shared/cursor/cursor.go",
	"../../shared/auth/status.go",
}

// TestErrorTableListsWhatTheSocketSends holds docs/websocket.md's error
// table to the code: every error code named (apierror.<Code>) in the files
// a frame runs is listed, and every code listed is one of docs/errors.md's
// codes that those files can produce. internal is left out (the frame
// says internal_error as over REST; docs/errors.md).
func TestErrorTableListsWhatTheSocketSends(t *testing.T) {
	consts := apierrorCodes(t)
	sent := map[string]bool{}
	for _, pat := range wsCodeSources {
		for _, file := range expand(t, pat) {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "apierror" {
						if code, ok := consts[sel.Sel.Name]; ok {
							sent[code] = true
						}
					}
				}
				return true
			})
		}
	}
	// Named in a scanned file but never a frame's answer.
	notSent := map[string]string{
		"internal":      "answered as internal_error, as over REST (docs/errors.md)",
		"invalid_token": "auth/status.go's token check runs in the authorizer, not on a frame",
	}
	for code := range notSent {
		delete(sent, code)
	}
	// Answered through a helper in a file not scanned.
	sent["limit_out_of_range"] = true // sync's limit, chat.pageLimit (members.go)
	if len(sent) < 15 {
		t.Fatalf("found %d codes: the scan is off", len(sent))
	}
	listed := docTableCodes(t)
	for code := range sent {
		if !listed[code] {
			t.Errorf("the socket can send %q but docs/websocket.md's error table does not list it", code)
		}
	}
	for code := range listed {
		if !sent[code] {
			t.Errorf("docs/websocket.md lists %q, which no file a frame runs produces", code)
		}
	}
}

// expand resolves a pattern with an optional {a,b} group.
func expand(t *testing.T, pat string) []string {
	t.Helper()
	var pats []string
	if i, j := strings.Index(pat, "{"), strings.Index(pat, "}"); i >= 0 && j > i {
		for _, alt := range strings.Split(pat[i+1:j], ",") {
			pats = append(pats, pat[:i]+alt+pat[j+1:])
		}
	} else {
		pats = []string{pat}
	}
	var out []string
	for _, p := range pats {
		m, err := filepath.Glob(p)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s matches no file", p)
		}
		out = append(out, m...)
	}
	return out
}

// apierrorCodes maps shared/apierror's Code constants to their strings.
func apierrorCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../shared/apierror/apierror.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}

// docTableCodes are the codes in the first column of docs/websocket.md's
// error table (the one after "Codes specific to the socket").
func docTableCodes(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../../docs/websocket.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, "| code | when |")
	if i < 0 {
		t.Fatal("docs/websocket.md has no error table")
	}
	out := map[string]bool{}
	for _, line := range strings.Split(doc[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(first, -1) {
			out[m[1]] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("the error table lists no code")
	}
	return out
}
