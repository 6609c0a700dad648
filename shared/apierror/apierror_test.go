package apierror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogueDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Codes() {
		if !strings.Contains(string(doc), "| `"+string(c)+"` |") {
			t.Errorf("code %q is not in docs/errors.md", c)
		}
	}
}

func TestPublicHidesInternals(t *testing.T) {
	tests := []struct {
		err  error
		want Code
	}{
		{New(UserExists, "x"), UserExists},
		{os.ErrNotExist, Internal},
	}
	for _, tc := range tests {
		p := Public(tc.err)
		if p.Code != tc.want {
			t.Errorf("Public(%v).Code = %s, want %s", tc.err, p.Code, tc.want)
		}
		if tc.want == Internal && strings.Contains(p.Message, "exist") {
			t.Errorf("internal error leaked: %q", p.Message)
		}
	}
	if HTTPStatus("nonsense") != 500 {
		t.Error("unknown code must map to 500")
	}
}
