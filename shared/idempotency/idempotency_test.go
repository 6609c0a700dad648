package idempotency

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"uuid", "3f1c2a9e-7d4b-4c1a-9e2f-0a1b2c3d4e5f", true},
		{"one character", "k", true},
		{"255 characters", strings.Repeat("k", 255), true},
		{"printable punctuation", "!~key#1", true},
		{"empty header", "", false},
		{"256 characters", strings.Repeat("k", 256), false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"non-ASCII", "clé", false},
		{"DEL", "a\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateKey(tt.key)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateKey(%q) = %v, want nil", tt.key, err)
				}
				return
			}
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.ValidationFailed || e.Details.(map[string]string)["field"] != Header {
				t.Fatalf("ValidateKey(%q) = %v, want validation_failed on %s", tt.key, err, Header)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	type body struct{ A, B string }
	a := Fingerprint(body{"x", "y"})
	if a != Fingerprint(body{"x", "y"}) {
		t.Fatal("same body, different fingerprints")
	}
	if a == Fingerprint(body{"x", "z"}) {
		t.Fatal("different bodies, same fingerprint")
	}
	if len(a) != 32 {
		t.Fatalf("fingerprint %q: want 32 hex characters (16 bytes), the stored format", a)
	}
	h := NewHash()
	h.Write([]byte(`{"A":"x","B":"y"}`))
	if Sum(h) != a {
		t.Fatal("Sum over the same JSON differs from Fingerprint")
	}
}
