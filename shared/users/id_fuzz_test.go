package users

import (
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

// FuzzValidateID: ValidateID accepts exactly the documented rule (1-64
// bytes of A-Z a-z 0-9 _ . @ -, first a letter or digit), checked here
// byte by byte without a regexp; so no accepted id holds '#', '/', '$',
// a control character, a space or a leading '.'.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"alice", "a", "0.b_c@d-e", "", ".hidden", "../etc", "a/b", "a#b", "${x}", "a b",
		"a\x00", "a\n", "\u00e9", "-a", "a\u200b", "#{7*7}", "a'); DROP", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID("user_id", id)
		if want := documentedID(id); (err == nil) != want {
			t.Fatalf("ValidateID(%q) = %v, documented rule says valid=%v", id, err, want)
		}
		if err != nil && apierror.CodeOf(err) != apierror.InvalidID {
			t.Fatalf("code %q, want invalid_id", apierror.CodeOf(err))
		}
	})
}

func documentedID(id string) bool {
	if len(id) < 1 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '@' && c != '-') {
			return false
		}
	}
	return true
}
