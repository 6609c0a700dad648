package batch

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

// fileCodes are the file-level codes docs/batch.md documents for a refused
// file; any other code (or a non-API error) from parsing is a defect.
var fileCodes = []apierror.Code{apierror.UnsupportedMediaType, apierror.InvalidEncoding, apierror.EmptyFile,
	apierror.InvalidCSV, apierror.InvalidJSON, apierror.ValidationFailed, apierror.PayloadTooLarge}

// FuzzParseUsersCSV: any CSV body either is refused with a documented file
// code or is split into valid items and row errors that account for every
// row once, in order; the valid items written back as CSV and as JSON parse
// to the same items (decode(encode(x)) == x).
func FuzzParseUsersCSV(f *testing.F) {
	for _, s := range []string{
		"user_id,nickname,avatar_url\nalice,Alice,https://a.example/x.png\nbob,,\n",
		"\ufeffuser_id;nickname\r\nbob,B\r\n",
		"user_id,metadata.team,metadata. x \n\"a,b\",blue,\nc,\"multi\nline\",y\n",
		"user_id,nickname\nbob,\"B\"\"ob\"\nbob,again\n",
		"user_id\n../etc/passwd\n${jndi:x}\n#a\nok.id@x-1\n",
		"nickname\nbob\n",
		"user_id,nickname\nbob\n",
		"user_id,nickname\nbob,\"\r\n\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkUsersParse(t, FormatCSV, "text/csv; charset=utf-8", []byte(body))
	})
}

// FuzzParseUsersJSON is FuzzParseUsersCSV for JSON array files.
func FuzzParseUsersJSON(f *testing.F) {
	for _, s := range []string{
		`[{"user_id":"alice","nickname":"Alice","metadata":{"k":"v"}}]`,
		`[{"user_id":"a"},{"user_id":"a"},{"user_id":"b","role":"admin"}]`,
		`[{"user_id":"a","User_Id":"b"},{"user_id":1},null,[],"x"]`,
		`[{"user_id":"a","nickname":null},{"user_id":"c","created_at":"2020-01-01T00:00:00Z"}]`,
		`[{"user_id":"a"}] x`,
		` [ {"user_id":"\u0000"} , {"user_id":"a\u0007b"} ] `,
		`{"user_id":"a"}`,
		`[{"user_id":"a","metadata":{"":"x"}}]`,
		`[{"user_id":"ali","nickname":"Alice","metadata":{" ":"0"}}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkUsersParse(t, FormatJSON, "application/json", []byte(body))
	})
}

func checkUsersParse(t *testing.T, format, ct string, body []byte) {
	t.Helper()
	p, err := ParseUsers(ct, body)
	if err != nil {
		if code := apierror.CodeOf(err); !slices.Contains(fileCodes, code) {
			t.Fatalf("file refused with undocumented code %q: %v", code, err)
		}
		return
	}
	checkPartition(t, p)
	if p.Format != format {
		t.Fatalf("format %q, want %q", p.Format, format)
	}
	seen := map[string]bool{}
	for _, it := range p.Items {
		u := it.Data
		if err := users.ValidateID("user_id", u.UserID); err != nil {
			t.Fatalf("row %d accepted with invalid id %q", it.Row, u.UserID)
		}
		if seen[u.UserID] {
			t.Fatalf("id %q accepted twice", u.UserID)
		}
		seen[u.UserID] = true
		if err := u.Validate(); err != nil {
			t.Fatalf("row %d accepted but invalid: %v", it.Row, err)
		}
	}
	if len(p.Items) == 0 {
		return
	}
	want := userRows(p.Items)
	type encoding struct {
		ct   string
		body []byte
		want []UserRow
	}
	encs := []encoding{{"application/json", mustJSON(t, want), want}}
	// CSV trims column names, so a metadata key with surrounding spaces
	// (which JSON carries) cannot go through a CSV header (found by this
	// fuzzer: the key " ").
	if csvCarriesKeys(want) {
		encs = append(encs, encoding{"text/csv", usersCSV(t, want), withoutEmptyMetadata(want)})
	}
	for _, enc := range encs {
		again, err := ParseUsers(enc.ct, enc.body)
		if err != nil {
			t.Fatalf("valid items re-encoded as %s refused: %v\n%s", enc.ct, err, enc.body)
		}
		if len(again.Errors) != 0 {
			t.Fatalf("valid items re-encoded as %s got row errors %+v\n%s", enc.ct, again.Errors, enc.body)
		}
		if got := userRows(again.Items); !reflect.DeepEqual(got, enc.want) {
			t.Fatalf("round trip through %s:\n got %#v\nwant %#v", enc.ct, got, enc.want)
		}
	}
}

// checkPartition: every data row 1..Total is in exactly one of Items and
// Errors, each list in file order; row errors carry a code and a clean id.
func checkPartition[T any](t *testing.T, p *Parsed[T]) {
	t.Helper()
	if p.Total <= 0 || p.Total != len(p.Items)+len(p.Errors) {
		t.Fatalf("total %d, items %d, errors %d", p.Total, len(p.Items), len(p.Errors))
	}
	rows := make([]int, 0, p.Total)
	last := 0
	for _, it := range p.Items {
		if it.Row <= last {
			t.Fatalf("items out of order at row %d", it.Row)
		}
		last = it.Row
		rows = append(rows, it.Row)
	}
	last = 0
	for _, e := range p.Errors {
		if e.Row <= last {
			t.Fatalf("errors out of order at row %d", e.Row)
		}
		last = e.Row
		if e.Code == "" || e.Code == apierror.Internal || e.Message == "" {
			t.Fatalf("row %d error without a public code: %+v", e.Row, e)
		}
		if len(e.ID) > 128 || !utf8.ValidString(e.ID) {
			t.Fatalf("row %d error id not sanitised: %q", e.Row, e.ID)
		}
		rows = append(rows, e.Row)
	}
	slices.Sort(rows)
	for i, r := range rows {
		if r != i+1 {
			t.Fatalf("rows %v do not cover 1..%d once each", rows, p.Total)
		}
	}
}

// userRows are the items' rows with an empty metadata map as nil (CSV
// and JSON both omit it).
func userRows(items []Item[UserRow]) []UserRow {
	out := make([]UserRow, len(items))
	for i, it := range items {
		out[i] = it.Data
		if len(out[i].Metadata) == 0 {
			out[i].Metadata = nil
		}
	}
	return out
}

// withoutEmptyMetadata is rows as a CSV file can carry them: docs/batch.md
// says empty metadata.<key> cells are left out.
func csvCarriesKeys(rows []UserRow) bool {
	for _, r := range rows {
		for k := range r.Metadata {
			if k != strings.TrimSpace(k) {
				return false
			}
		}
	}
	return true
}

func withoutEmptyMetadata(rows []UserRow) []UserRow {
	out := make([]UserRow, len(rows))
	for i, r := range rows {
		out[i] = r
		out[i].Metadata = nil
		for k, v := range r.Metadata {
			if v == "" {
				continue
			}
			if out[i].Metadata == nil {
				out[i].Metadata = map[string]string{}
			}
			out[i].Metadata[k] = v
		}
	}
	return out
}

func usersCSV(t *testing.T, rows []UserRow) []byte {
	t.Helper()
	keys := map[string]bool{}
	for _, r := range rows {
		for k := range r.Metadata {
			keys[k] = true
		}
	}
	meta := slices.Sorted(maps.Keys(keys))
	head := []string{"user_id", "nickname", "avatar_url"}
	for _, k := range meta {
		head = append(head, MetadataPrefix+k)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	records := [][]string{head}
	for _, r := range rows {
		rec := []string{r.UserID, r.Nickname, r.AvatarURL}
		for _, k := range meta {
			rec = append(rec, r.Metadata[k])
		}
		records = append(records, rec)
	}
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseGroups: group files of either format are refused with a
// documented code or partitioned, and every accepted row passes the rules
// of POST /v1/groups that need no table read.
func FuzzParseGroups(f *testing.F) {
	f.Add(true, "group_id,owner_id,name,members\ng1,alice,Team,\"bob;carol, dave\"\ng1,bob,,\n")
	f.Add(true, "group_id,owner_id,metadata.k\ng2,al ice,v\n")
	f.Add(false, `[{"group_id":"g1","owner_id":"alice","members":["bob","bob"]},{"group_id":"g2","owner_id":"x","seq":3}]`)
	f.Add(false, `[{"group_id":"g1","owner_id":"alice","members":["../x"]}]`)
	f.Fuzz(func(t *testing.T, isCSV bool, body string) {
		ct := "application/json"
		if isCSV {
			ct = "text/csv"
		}
		p, err := ParseGroups(ct, []byte(body))
		if err != nil {
			if code := apierror.CodeOf(err); !slices.Contains(fileCodes, code) {
				t.Fatalf("file refused with undocumented code %q: %v", code, err)
			}
			return
		}
		checkPartition(t, p)
		for _, it := range p.Items {
			g := it.Data
			if err := g.Validate(); err != nil {
				t.Fatalf("row %d accepted but invalid: %v", it.Row, err)
			}
			again, err := ParseGroups("application/json", mustJSON(t, []GroupRow{g}))
			if err != nil || len(again.Items) != 1 {
				t.Fatalf("accepted row %+v does not parse again as JSON: %v %+v", g, err, again)
			}
		}
	})
}
