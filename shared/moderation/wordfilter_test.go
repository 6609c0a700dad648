package moderation

import (
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

func compile(t *testing.T, action string, words ...string) *Matcher {
	t.Helper()
	f := WordFilter{Action: action, Words: words}
	if err := ValidateWordFilter(f); err != nil {
		t.Fatal(err)
	}
	m, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWordFilterUnicodeTricks: the tricks that defeat a naive filter.
func TestWordFilterUnicodeTricks(t *testing.T) {
	m := compile(t, FilterMask, "darn", "Heck")
	tests := []struct {
		name, in, want string
		hit            bool
	}{
		{"plain", "oh darn it", "oh **** it", true},
		{"upper case", "oh DARN it", "oh **** it", true},
		{"word in the list in upper case", "what the heck", "what the ****", true},
		{"full-width letters", "oh ｄａｒｎ it", "oh **** it", true},
		{"full-width capitals", "ＤＡＲＮ", "****", true},
		{"combining marks", "oh d\u0336a\u0336r\u0336n\u0336 it", "oh ******** it", true},
		{"precomposed accents", "oh dárn it", "oh **** it", true},
		{"zero-width joiner", "oh d\u200dar\u200dn it", "oh ****** it", true},
		{"zero-width space and no-break", "oh d\u200ba\ufeffrn it", "oh ****** it", true},
		{"word joiner", "da\u2060rn", "*****", true},
		{"inside a word", "xdarnx", "x****x", true},
		{"twice", "darn darn", "**** ****", true},
		{"clean", "all good here", "all good here", false},
		{"near miss", "dam", "dam", false},
		{"other scripts untouched", "привет 你好", "привет 你好", false},
	}
	for _, tc := range tests {
		got, hit := m.Apply(tc.in)
		if got != tc.want || hit != tc.hit {
			t.Errorf("%s: Apply(%q) = %q %v, want %q %v", tc.name, tc.in, got, hit, tc.want, tc.hit)
		}
	}
	r := compile(t, FilterReject, "darn")
	if got, hit := r.Apply("ｄ\u200dａ\u0301rn"); !hit || got != "ｄ\u200dａ\u0301rn" {
		t.Errorf("reject: %q %v, want a hit and the text unchanged", got, hit)
	}
	if _, hit := (&Matcher{}).Apply("darn"); hit {
		t.Error("an empty filter matched")
	}
}

// TestWordFilterRefused: bad lists get validation_failed naming the field.
func TestWordFilterRefused(t *testing.T) {
	many := make([]string, MaxWords+1)
	for i := range many {
		many[i] = "w" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	tests := []struct {
		name  string
		f     WordFilter
		field string
	}{
		{"unknown action", WordFilter{Action: "delete", Words: []string{"x"}}, "action"},
		{"no action", WordFilter{Words: []string{"x"}}, "action"},
		{"oversized list", WordFilter{Action: FilterMask, Words: many}, "words"},
		{"empty word", WordFilter{Action: FilterMask, Words: []string{""}}, "words"},
		{"invisible word", WordFilter{Action: FilterMask, Words: []string{"\u200d\u200b"}}, "words"},
		{"long word", WordFilter{Action: FilterMask, Words: []string{strings.Repeat("a", MaxWordRunes+1)}}, "words"},
		{"repeated after normalisation", WordFilter{Action: FilterMask, Words: []string{"darn", "ＤＡＲＮ"}}, "words"},
	}
	for _, tc := range tests {
		err := ValidateWordFilter(tc.f)
		e, ok := err.(*apierror.Error)
		if !ok || e.Code != apierror.ValidationFailed || e.Details.(map[string]any)["field"] != tc.field {
			t.Errorf("%s: %v, want validation_failed on %s", tc.name, err, tc.field)
		}
	}
	if err := ValidateWordFilter(WordFilter{Action: FilterReject, Words: many[:MaxWords]}); err != nil {
		t.Errorf("a full list: %v", err)
	}
}

// BenchmarkWordFilter: the cost on the send path, 1,000 words, a 200-byte message.
func BenchmarkWordFilter(b *testing.B) {
	words := make([]string, MaxWords)
	for i := range words {
		words[i] = "bad" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	m, err := Compile(WordFilter{Action: FilterMask, Words: words})
	if err != nil {
		b.Fatal(err)
	}
	msg := strings.Repeat("hello there, how are you doing today? ", 5)
	for b.Loop() {
		m.Apply(msg)
	}
}
