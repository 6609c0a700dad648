package batch

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
)

const csvType = "text/csv"
const jsonType = "application/json"

// TestParseFileErrors: files that cannot be used at all are refused with
// one code and nothing else.
func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name, ct, body string
		code           apierror.Code
	}{
		{"empty csv", csvType, "", apierror.EmptyFile},
		{"blank csv", csvType, " \r\n\n ", apierror.EmptyFile},
		{"header only", csvType, "user_id,nickname\r\n", apierror.EmptyFile},
		{"header only with BOM", csvType, "\ufeffuser_id\n", apierror.EmptyFile},
		{"empty json array", jsonType, " [ ] ", apierror.EmptyFile},
		{"empty json", jsonType, "", apierror.EmptyFile},
		{"missing required column", csvType, "nickname,avatar_url\nbob,\n", apierror.InvalidCSV},
		{"unknown column", csvType, "user_id,nick\nbob,B\n", apierror.InvalidCSV},
		{"duplicate column", csvType, "user_id,nickname,Nickname\nbob,B,C\n", apierror.InvalidCSV},
		{"empty metadata key", csvType, "user_id,metadata.\nbob,x\n", apierror.InvalidCSV},
		{"bare quote", csvType, "user_id,nickname\nbob,B\"ob\n", apierror.InvalidCSV},
		{"unterminated quote", csvType, "user_id,nickname\nbob,\"Bob\n", apierror.InvalidCSV},
		{"non-utf8 csv", csvType, "user_id,nickname\nbob,\xff\xfe\n", apierror.InvalidEncoding},
		{"latin-1 json", jsonType, `[{"user_id":"jos` + "\xe9" + `"}]`, apierror.InvalidEncoding},
		{"json object not array", jsonType, `{"user_id":"bob"}`, apierror.ValidationFailed},
		{"json string", jsonType, `"bob"`, apierror.ValidationFailed},
		{"malformed json", jsonType, `[{"user_id":"bob"}`, apierror.InvalidJSON},
		{"two json values", jsonType, `[{"user_id":"a"}] [{"user_id":"b"}]`, apierror.InvalidJSON},
		{"text/plain", "text/plain", "user_id\nbob\n", apierror.UnsupportedMediaType},
		{"no content type", "", "user_id\nbob\n", apierror.UnsupportedMediaType},
		{"csv in latin-1 charset", "text/csv; charset=iso-8859-1", "user_id\nbob\n", apierror.UnsupportedMediaType},
		{"too many csv rows", csvType, "user_id\n" + strings.Repeat("a\n", MaxRows+1), apierror.PayloadTooLarge},
		{"too many json rows", jsonType, "[" + strings.Repeat(`{},`, MaxRows) + "{}]", apierror.PayloadTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseUsers(tc.ct, []byte(tc.body))
			if got := apierror.CodeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q; parsed %+v", got, err, tc.code, p)
			}
		})
	}
}

// TestParseCSVFormats: the RFC 4180 corners, BOM and line endings.
func TestParseCSVFormats(t *testing.T) {
	tests := []struct {
		name, body string
		want       []UserRow
	}{
		{"LF", "user_id,nickname\na,Ann\nb,Bob\n", []UserRow{{UserID: "a", Nickname: "Ann"}, {UserID: "b", Nickname: "Bob"}}},
		{"CRLF", "user_id,nickname\r\na,Ann\r\nb,Bob\r\n", []UserRow{{UserID: "a", Nickname: "Ann"}, {UserID: "b", Nickname: "Bob"}}},
		{"no final newline", "user_id,nickname\na,Ann", []UserRow{{UserID: "a", Nickname: "Ann"}}},
		{"BOM", "\ufeffuser_id,nickname\na,Ann\n", []UserRow{{UserID: "a", Nickname: "Ann"}}},
		{"quoted comma", "user_id,nickname\na,\"Smith, Ann\"\n", []UserRow{{UserID: "a", Nickname: "Smith, Ann"}}},
		{"doubled quotes", "user_id,nickname\na,\"Ann \"\"the\"\" First\"\n", []UserRow{{UserID: "a", Nickname: `Ann "the" First`}}},
		{"embedded newline", "user_id,nickname\na,\"Ann\r\nSecond line\"\nb,Bob\n", []UserRow{{UserID: "a", Nickname: "Ann\nSecond line"}, {UserID: "b", Nickname: "Bob"}}},
		{"blank lines skipped", "user_id\n\na\n\n\nb\n", []UserRow{{UserID: "a"}, {UserID: "b"}}},
		{"column order and case", "Nickname , USER_ID\nAnn,a\n", []UserRow{{UserID: "a", Nickname: "Ann"}}},
		{"metadata columns", "user_id,metadata.class,metadata.grade\na,7B,\nb,,9\n",
			[]UserRow{{UserID: "a", Metadata: map[string]string{"class": "7B"}}, {UserID: "b", Metadata: map[string]string{"grade": "9"}}}},
		{"unicode nickname", "user_id,nickname\na,张伟\n", []UserRow{{UserID: "a", Nickname: "张伟"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseUsers(csvType, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) > 0 {
				t.Fatalf("row errors %+v", p.Errors)
			}
			var got []UserRow
			for _, it := range p.Items {
				got = append(got, it.Data)
			}
			if !reflect.DeepEqual(got, tc.want) || p.Total != len(tc.want) || p.Format != FormatCSV {
				t.Fatalf("got %+v (total %d), want %+v", got, p.Total, tc.want)
			}
		})
	}
}

// TestParseRowErrors: bad rows are reported with row number, id and code;
// the good rows around them stay valid.
func TestParseRowErrors(t *testing.T) {
	long := strings.Repeat("x", 65)
	csvBody := strings.Join([]string{
		"user_id,nickname,avatar_url",
		"ok1,Ann,",                             // 1
		"a#b,Bad,",                             // 2 invalid_id
		",Nobody,",                             // 3 invalid_id (empty)
		"ok2,Bob,javascript:alert(1)",          // 4 validation_failed
		"ok3,Cy",                               // 5 wrong column count
		"ok4,Di,,extra",                        // 6 wrong column count
		"ok1,Again,",                           // 7 duplicate of row 1
		long + ",TooLong,",                     // 8 invalid_id
		"ok5," + strings.Repeat("名", 65) + ",", // 9 nickname too long
		"ok6,Eve,https://example.com/e.png",    // 10
		"ok4,Di2,",                             // 11 valid: row 6 never claimed ok4? it did (its id cell is valid)
	}, "\n")
	want := []struct {
		row  int
		id   string
		code apierror.Code
	}{
		{2, "a#b", apierror.InvalidID}, {3, "", apierror.InvalidID}, {4, "ok2", apierror.ValidationFailed},
		{5, "ok3", apierror.InvalidCSV}, {6, "ok4", apierror.InvalidCSV}, {7, "ok1", apierror.DuplicateID},
		{8, long, apierror.InvalidID}, {9, "ok5", apierror.ValidationFailed}, {11, "ok4", apierror.DuplicateID},
	}
	p, err := ParseUsers(csvType, []byte(csvBody))
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 11 || len(p.Items) != 2 || len(p.Errors) != len(want) {
		t.Fatalf("total %d items %d errors %+v", p.Total, len(p.Items), p.Errors)
	}
	for i, w := range want {
		e := p.Errors[i]
		if e.Row != w.row || e.ID != w.id || e.Code != w.code || e.Message == "" {
			t.Errorf("error %d = %+v, want row %d id %q code %s", i, e, w.row, w.id, w.code)
		}
	}
	if p.Items[0].Row != 1 || p.Items[1].Row != 10 {
		t.Fatalf("valid rows %+v", p.Items)
	}
}

func TestParseJSONRows(t *testing.T) {
	body := `[
		{"user_id":"j1","nickname":"Ann","metadata":{"class":"7B"}},
		{"user_id":"j2","role":"admin"},
		{"user_id":"j3","user_id":"j4"},
		"j5",
		{"user_id":7},
		{"user_id":"j1"},
		{"user_id":"j6","nickname":"Bob"},
		null
	]`
	p, err := ParseUsers("application/json; charset=utf-8", []byte("\ufeff"+body))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]apierror.Code{}
	for _, e := range p.Errors {
		codes[e.Row] = e.Code
	}
	wantCodes := map[int]apierror.Code{2: apierror.UnknownField, 3: apierror.DuplicateKey, 4: apierror.ValidationFailed,
		5: apierror.ValidationFailed, 6: apierror.DuplicateID, 8: apierror.ValidationFailed}
	if !reflect.DeepEqual(codes, wantCodes) {
		t.Fatalf("row codes %v, want %v", codes, wantCodes)
	}
	if p.Total != 8 || len(p.Items) != 2 || p.Items[0].Data.Metadata["class"] != "7B" || p.Items[1].Data.UserID != "j6" {
		t.Fatalf("items %+v", p.Items)
	}
	if p.Errors[0].ID != "j2" {
		t.Fatalf("unknown-field row should still name its id: %+v", p.Errors[0])
	}
}

func TestParseGroups(t *testing.T) {
	body := "group_id,owner_id,name,members,metadata.course\n" +
		"g1,t1,Class 7B,\"s1, s2;s3 s4\",math\n" +
		"g2,t1,,,\n" +
		"g3,,No owner,s1,\n" +
		"g4,t1,Bad member,s1 a#b,\n"
	p, err := ParseGroups(csvType, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || !reflect.DeepEqual(p.Items[0].Data.Members, []string{"s1", "s2", "s3", "s4"}) ||
		p.Items[0].Data.Metadata["course"] != "math" || p.Items[1].Data.Members != nil {
		t.Fatalf("items %+v", p.Items)
	}
	if len(p.Errors) != 2 || p.Errors[0].Code != apierror.InvalidID || p.Errors[1].Code != apierror.InvalidID {
		t.Fatalf("errors %+v", p.Errors)
	}
}

// TestChunks: chunks cover contiguous rows, at most ChunkMaxRows file rows
// and ChunkMaxBytes of rows each, and every row lands in exactly one.
func TestChunks(t *testing.T) {
	var b strings.Builder
	b.WriteString("user_id,nickname,metadata.k1,metadata.k2\n")
	n := 1000
	for i := 1; i <= n; i++ {
		switch {
		case i%97 == 0:
			fmt.Fprintf(&b, "bad#%d,x,,\n", i) // invalid
		case i > 600:
			fmt.Fprintf(&b, "u%d,n,%s,%s\n", i, strings.Repeat("v", 1000), strings.Repeat("w", 1000)) // ~2 KB rows
		default:
			fmt.Fprintf(&b, "u%d,n,,\n", i)
		}
	}
	p, err := ParseUsers(csvType, []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := makeChunks(p, ChunkMaxRows)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	last := 0
	for i, c := range chunks {
		if c.Index != i {
			t.Fatalf("chunk %d has index %d", i, c.Index)
		}
		size := 0
		rows := []int{}
		for _, r := range c.Rows {
			var it Item[UserRow]
			if err := json.Unmarshal(r, &it); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, it.Row)
			size += len(r) + 1
		}
		for _, e := range c.Errors {
			rows = append(rows, e.Row)
		}
		lo, hi := n+1, 0
		for _, r := range rows {
			if seen[r] {
				t.Fatalf("row %d in two chunks", r)
			}
			seen[r] = true
			lo, hi = min(lo, r), max(hi, r)
		}
		if lo != last+1 || hi-lo+1 > ChunkMaxRows || size > ChunkMaxBytes || hi-lo+1 != len(rows) {
			t.Fatalf("chunk %d covers %d..%d (%d rows, %d bytes) after row %d", i, lo, hi, len(rows), size, last)
		}
		last = hi
		m := c.message(Job{JobID: "job_x", Kind: KindUsers})
		enc, _ := json.Marshal(m)
		if len(enc) > 256<<10 {
			t.Fatalf("message of chunk %d is %d bytes", i, len(enc))
		}
	}
	if last != n || len(seen) != n {
		t.Fatalf("chunks cover %d rows up to %d, want %d", len(seen), last, n)
	}
	bodies := make([]string, 57)
	for i := range bodies {
		bodies[i] = strings.Repeat("x", 40<<10)
	}
	for _, r := range packBatches(bodies) {
		if r[1]-r[0] > 10 || (r[1]-r[0])*40<<10 > MaxSQSBatchBytes {
			t.Fatalf("batch %v too big", r)
		}
	}
}

// TestCleanID: a row error's id is at most 128 bytes with its "..." marker
// included, cut at a rune boundary (docs/batch.md).
func TestCleanID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "stu-1", "stu-1"},
		{"exactly 128 bytes", strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{"129 bytes", strings.Repeat("a", 129), strings.Repeat("a", 125) + "..."},
		{"165 bytes", strings.Repeat("b", 165), strings.Repeat("b", 125) + "..."},
		{"two-byte runes cut at a boundary", strings.Repeat("é", 100), strings.Repeat("é", 62) + "..."},
		{"three-byte runes cut at a boundary", strings.Repeat("名", 50), strings.Repeat("名", 41) + "..."},
		{"invalid UTF-8 replaced, then cut", strings.Repeat("a\xff", 60), strings.Repeat("a\uFFFD", 31) + "a..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cleanID(tc.in)
			if got != tc.want || len(got) > 128 || !utf8.ValidString(got) {
				t.Fatalf("cleanID = %q (%d bytes), want %q (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

// TestRowErrorIDLength: a 165-byte id in a file is reported with an id of
// at most 128 bytes, through the parser a job uses.
func TestRowErrorIDLength(t *testing.T) {
	long := strings.Repeat("x", 165)
	for _, tc := range []struct{ ct, body string }{
		{csvType, "user_id\n" + long + "\n"},
		{jsonType, `[{"user_id":"` + long + `"}]`},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			p, err := ParseUsers(tc.ct, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) != 1 || len(p.Errors[0].ID) > 128 || !strings.HasSuffix(p.Errors[0].ID, "...") {
				t.Fatalf("errors %+v", p.Errors)
			}
		})
	}
}
