package batch

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/strictjson"
)

// Formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// MetadataPrefix names CSV columns that fill metadata: metadata.team=blue.
const MetadataPrefix = "metadata."

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Item is one valid row and its 1-based row number.
type Item[T any] struct {
	Row  int `json:"row"`
	Data T   `json:"data"`
}

// Parsed is a validated file: every data row is either in Items (valid, in
// file order) or in Errors (invalid, in file order).
type Parsed[T any] struct {
	Format string
	Total  int
	Items  []Item[T]
	Errors []RowError
}

// schema describes one kind of row.
type schema[T any] struct {
	kind     Kind
	idColumn string   // "user_id"
	required []string // columns a CSV header must have
	columns  []string // plain CSV columns, idColumn first; plus metadata.<key>
	// chunkRows is the most file rows one chunk (SQS message) covers.
	chunkRows int
	fromCSV   func(cells map[string]string, meta map[string]string) T
	validate  func(v *T) error // checks, and may normalise, a decoded row
	id        func(v T) string
	validID   func(id string) bool
}

// mediaFormat maps a Content-Type to a format: application/json or
// text/csv, UTF-8 (a charset parameter, if any, must say so).
func mediaFormat(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", apierror.New(apierror.UnsupportedMediaType, "Content-Type must be application/json or text/csv.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "", apierror.New(apierror.UnsupportedMediaType, "Only UTF-8 files are accepted (charset=%q).", truncate(cs, 32))
	}
	switch mt {
	case "application/json":
		return FormatJSON, nil
	case "text/csv":
		return FormatCSV, nil
	}
	return "", apierror.New(apierror.UnsupportedMediaType, "Content-Type must be application/json or text/csv.")
}

// parse reads and validates a whole file. File-level problems (unsupported
// type, bad encoding, unreadable CSV, wrong columns, not a JSON array, no
// rows, too many rows) are returned as an error; row-level ones end up in
// Parsed.Errors.
func parse[T any](s schema[T], contentType string, body []byte) (*Parsed[T], error) {
	format, err := mediaFormat(contentType)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimPrefix(body, utf8BOM)
	if !utf8.Valid(body) {
		off := invalidUTF8Offset(body)
		return nil, apierror.New(apierror.InvalidEncoding, "The file is not valid UTF-8 (line %d, byte %d). Save it as UTF-8.",
			bytes.Count(body[:off], []byte("\n"))+1, off+1).WithDetails(map[string]int{"offset": off})
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apierror.New(apierror.EmptyFile, "The file is empty.")
	}
	p := &Parsed[T]{Format: format}
	seen := map[string]int{}
	add := func(row int, rawID string, v T, rowErr error) {
		p.Total++
		id := rawID
		if rowErr == nil {
			id = s.id(v)
			rowErr = s.validate(&v)
		}
		// The first row with an id claims it, even if that row is invalid:
		// a later row with the same id is a duplicate, never a silent
		// replacement for the broken first one.
		if s.validID(id) {
			if first, dup := seen[id]; dup && rowErr == nil {
				rowErr = apierror.New(apierror.DuplicateID, "%s %q is also on row %d; only the first row is used.", s.idColumn, id, first)
			} else if !dup {
				seen[id] = row
			}
		}
		if rowErr != nil {
			p.Errors = append(p.Errors, rowError(row, id, rowErr))
			return
		}
		p.Items = append(p.Items, Item[T]{Row: row, Data: v})
	}
	if format == FormatCSV {
		err = parseCSV(s, body, add)
	} else {
		err = parseJSON(s, body, add)
	}
	if err != nil {
		return nil, err
	}
	if p.Total == 0 {
		return nil, apierror.New(apierror.EmptyFile, "The file has no data rows.")
	}
	return p, nil
}

func tooManyRows() error {
	return apierror.New(apierror.PayloadTooLarge, "A file may hold at most %d rows; split it into several jobs.", MaxRows)
}

// column is what one CSV header cell means.
type column struct {
	name string // plain column name, or "" for metadata
	meta string // metadata key
}

func (s schema[T]) header(cells []string) ([]column, error) {
	allowed := map[string]bool{}
	for _, c := range s.columns {
		allowed[c] = true
	}
	out := make([]column, len(cells))
	seen := map[string]bool{}
	for i, raw := range cells {
		name := strings.TrimSpace(raw)
		lower := strings.ToLower(name)
		col := column{name: lower}
		if strings.HasPrefix(lower, MetadataPrefix) {
			col = column{meta: name[len(MetadataPrefix):]}
			if col.meta == "" || len(col.meta) > 64 {
				return nil, csvColumnErr("Column %d: metadata keys must be 1-64 bytes (%s<key>).", name, i+1, MetadataPrefix)
			}
		} else if !allowed[lower] {
			return nil, csvColumnErr("Unknown column %q (column %d). Allowed: %s and %s<key>.", name,
				truncate(name, 64), i+1, strings.Join(s.columns, ", "), MetadataPrefix)
		}
		key := col.name + "\x00" + col.meta
		if seen[key] {
			return nil, csvColumnErr("Column %q appears twice.", name, truncate(name, 64))
		}
		seen[key] = true
		out[i] = col
	}
	for _, r := range s.required {
		if !seen[r+"\x00"] {
			return nil, csvColumnErr("The header must have a %s column (the first row of a CSV file is its header).", r, r)
		}
	}
	return out, nil
}

func csvColumnErr(format, column string, args ...any) error {
	return apierror.New(apierror.InvalidCSV, format, args...).WithDetails(map[string]string{"column": truncate(column, 64)})
}

// parseCSV reads RFC 4180 CSV (quoted commas, doubled quotes, newlines in
// quoted fields, CRLF or LF) with encoding/csv. The first record is the
// header. A record with the wrong number of fields is a row error; a
// quoting error makes the rest of the file unreadable and refuses it.
func parseCSV[T any](s schema[T], body []byte, add func(int, string, T, error)) error {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // counted here, so a bad row is a row error
	head, err := r.Read()
	if err != nil {
		return csvReadErr(err)
	}
	cols, err := s.header(head)
	if err != nil {
		return err
	}
	idIdx := 0
	for i, c := range cols {
		if c.name == s.idColumn {
			idIdx = i
		}
	}
	var zero T
	for row := 1; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvReadErr(err)
		}
		if row > MaxRows {
			return tooManyRows()
		}
		if len(rec) != len(cols) {
			id := ""
			if idIdx < len(rec) {
				id = rec[idIdx]
			}
			add(row, id, zero, apierror.New(apierror.InvalidCSV, "The row has %d fields; the header has %d.", len(rec), len(cols)))
			continue
		}
		cells := make(map[string]string, len(cols))
		var meta map[string]string
		for i, c := range cols {
			switch {
			case c.name != "":
				cells[c.name] = rec[i]
			case rec[i] != "":
				if meta == nil {
					meta = map[string]string{}
				}
				meta[c.meta] = rec[i]
			}
		}
		add(row, rec[idIdx], s.fromCSV(cells, meta), nil)
	}
}

func csvReadErr(err error) error {
	if err == io.EOF {
		return apierror.New(apierror.EmptyFile, "The file is empty.")
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return apierror.New(apierror.InvalidCSV, "CSV error on line %d, column %d: %s.", pe.Line, pe.Column, pe.Err).
			WithDetails(map[string]int{"line": pe.Line, "column": pe.Column})
	}
	return apierror.New(apierror.InvalidCSV, "The file cannot be read as CSV.")
}

// parseJSON reads a JSON array of objects. Syntax errors refuse the file;
// each element is then decoded strictly on its own, so an unknown field, a
// duplicate key or a wrong type fails only that row.
func parseJSON[T any](s schema[T], body []byte, add func(int, string, T, error)) error {
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] != '[' {
		return apierror.New(apierror.ValidationFailed, "A JSON file must be an array of row objects: [{...}, {...}].")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var elems []json.RawMessage
	if err := dec.Decode(&elems); err != nil {
		return apierror.New(apierror.InvalidJSON, "The file is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apierror.New(apierror.InvalidJSON, "The file holds more than one JSON value.")
	}
	if len(elems) > MaxRows {
		return tooManyRows()
	}
	var zero T
	for i, raw := range elems {
		row := i + 1
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
			add(row, "", zero, apierror.New(apierror.ValidationFailed, "Each row must be a JSON object."))
			continue
		}
		var v T
		if err := strictjson.Decode(raw, &v); err != nil {
			add(row, jsonID(raw, s.idColumn), zero, err)
			continue
		}
		add(row, "", v, nil)
	}
	return nil
}

// jsonID digs the id out of a row that failed strict decoding, so its error
// can name it.
func jsonID(raw json.RawMessage, field string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[field].(string)
	return s
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// cleanID makes an id from a file safe to store and show: valid UTF-8, at
// most 128 bytes including the "..." that marks a cut (docs/batch.md).
func cleanID(id string) string {
	return truncate(strings.ToValidUTF8(id, "\uFFFD"), 128)
}

// truncMarker ends a shortened string, so a reader knows it was cut.
const truncMarker = "..."

// truncate shortens s to at most n bytes (n >= len(truncMarker)), the
// marker included, cutting at a rune start so a valid UTF-8 s stays valid.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len(truncMarker)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncMarker
}
