package moderation

// The word filter: an app-wide list of words, matched case-insensitively
// on normalised text, so that the usual tricks do not slip past it:
// full-width letters (ｓｌｕｒ), combining marks (s̷l̷u̷r̷), zero-width
// joiners and other invisible format characters (s\u200dlur), and
// compatibility forms (ﬁ, ①). A match is masked (each character of the
// match becomes '*', so the message keeps its length) or rejected with
// content_rejected. Matching is by substring, not by whole word: a filter
// that a space or a suffix could defeat would filter nothing, at the price
// of the Scunthorpe problem (docs/permissions.md, "Word filter").

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Actions.
const (
	FilterMask   = "mask"
	FilterReject = "reject"
)

// Limits on the list: it is loaded into every sandbox that sends.
const (
	MaxWords     = 1000
	MaxWordRunes = 64
)

var folder = cases.Fold()

// foldRune appends the normalised form of r to dst: compatibility
// decomposition (NFKD) with width folding, combining marks and invisible
// format characters dropped, case folded. It returns dst unchanged for a
// rune that vanishes.
func foldRune(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf { // ASCII: the common case, no allocation
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
		return dst
	}
	s := width.Fold.String(string(r))
	s = norm.NFKD.String(s)
	s = folder.String(s)
	for _, x := range s {
		if !unicode.In(x, unicode.Mn, unicode.Me, unicode.Cf) {
			dst = append(dst, x)
		}
	}
	return dst
}

// Normalize returns s as the filter sees it.
func Normalize(s string) string {
	var out []rune
	for _, r := range s {
		out = foldRune(out, r)
	}
	return string(out)
}

// ValidateWordFilter checks a filter an admin sets: a known action, at
// most MaxWords words, each 1 to MaxWordRunes characters and not empty
// once normalised, none repeated (after normalisation). validation_failed
// with details.field otherwise.
func ValidateWordFilter(f WordFilter) error {
	bad := func(field, format string, args ...any) error {
		return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]any{"field": field})
	}
	if f.Action != FilterMask && f.Action != FilterReject {
		return bad("action", "action must be %q or %q.", FilterMask, FilterReject)
	}
	if len(f.Words) > MaxWords {
		return bad("words", "words may hold at most %d words.", MaxWords)
	}
	seen := make(map[string]bool, len(f.Words))
	for _, w := range f.Words {
		if n := utf8.RuneCountInString(w); n == 0 || n > MaxWordRunes {
			return bad("words", "Each word must be 1 to %d characters.", MaxWordRunes)
		}
		nw := Normalize(w)
		if strings.TrimSpace(nw) == "" {
			return bad("words", "A word is empty once normalised (only invisible characters, marks or spaces).")
		}
		if seen[nw] {
			return bad("words", "Word %q is repeated (after case and Unicode normalisation).", w)
		}
		seen[nw] = true
	}
	return nil
}

// Matcher is a compiled filter.
type Matcher struct {
	action string
	re     *regexp.Regexp // nil: no words
}

// Compile builds the matcher for f (which ValidateWordFilter accepted).
// RE2 matches an alternation of literals in time linear in the text.
func Compile(f WordFilter) (*Matcher, error) {
	m := &Matcher{action: f.Action}
	if len(f.Words) == 0 {
		return m, nil
	}
	alts := make([]string, 0, len(f.Words))
	for _, w := range f.Words {
		alts = append(alts, regexp.QuoteMeta(Normalize(w)))
	}
	re, err := regexp.Compile(strings.Join(alts, "|"))
	if err != nil {
		return nil, err
	}
	m.re = re
	return m, nil
}

// Action is the filter's action.
func (m *Matcher) Action() string { return m.action }

// Apply screens s: it reports whether a word matched and, for mask, returns
// s with every character of each match replaced by '*'.
func (m *Matcher) Apply(s string) (string, bool) {
	if m == nil || m.re == nil || s == "" {
		return s, false
	}
	orig := []rune(s)
	var norm []rune
	var from []int // from[i]: the index in orig of norm[i]
	for i, r := range orig {
		n := len(norm)
		norm = foldRune(norm, r)
		for range len(norm) - n {
			from = append(from, i)
		}
	}
	ns := string(norm)
	spans := m.re.FindAllStringIndex(ns, -1)
	if len(spans) == 0 {
		return s, false
	}
	if m.action != FilterMask {
		return s, true
	}
	// Byte offsets in ns -> rune indexes in norm.
	runeAt := make([]int, len(ns)+1)
	ri := 0
	for bi := range ns {
		runeAt[bi] = ri
		ri++
	}
	runeAt[len(ns)] = ri
	for _, sp := range spans {
		first, last := from[runeAt[sp[0]]], from[runeAt[sp[1]]-1]
		// Marks and invisible characters after the match belong to it.
		for last+1 < len(orig) && len(foldRune(nil, orig[last+1])) == 0 {
			last++
		}
		for i := first; i <= last; i++ {
			orig[i] = '*'
		}
	}
	return string(orig), true
}
