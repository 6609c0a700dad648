package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tokenim/tokenim/shared/batch"
)

// One request's limits (docs/batch.md, "Limits"), the server's own: a
// file over either is split into several jobs.
const (
	maxJobBytes = batch.MaxBodyBytes
	maxJobRows  = batch.MaxRows
)

// failedCols are the columns a failed-rows file adds in front of the
// original ones; a file that starts with them is read back without them,
// so a fixed failed-rows file imports as it is.
var failedCols = []string{"row", "id", "code", "message"}

// source is an import file, read and cut into parts of one job each.
type source struct {
	format string   // csv or json
	header []string // CSV: the columns (without failedCols)
	// rows holds each data row as read: CSV fields, or one JSON element
	// (as a single field), so a failed row can be written back out.
	rows  [][]string
	parts []part
}

// part is one job's body and where its rows sit in the file.
type part struct {
	body  []byte
	first int // 0-based index into source.rows of the part's first row
	rows  int
}

// detectFormat uses --format, else the file extension, else the first
// non-blank byte ('[' is JSON).
func detectFormat(flag, path string, data []byte) (string, error) {
	switch strings.ToLower(flag) {
	case "csv", "json":
		return strings.ToLower(flag), nil
	case "":
	default:
		return "", usageError{fmt.Errorf("--format %q: use csv or json", flag)}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return "json", nil
	}
	return "csv", nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// readSource parses data and cuts it into parts of at most maxBytes and
// maxRows rows. An unreadable file is refused here, before any request:
// the API would refuse it whole too (invalid_csv, invalid_json).
func readSource(data []byte, format string, maxBytes, maxRows int) (*source, error) {
	s := &source{format: format}
	var err error
	if format == "json" {
		err = s.readJSON(data)
	} else {
		err = s.readCSV(data)
	}
	if err != nil {
		return nil, err
	}
	if len(s.rows) == 0 {
		return nil, errors.New("empty_file: the file has no data rows")
	}
	s.cut(maxBytes, maxRows)
	return s, nil
}

func (s *source) readCSV(data []byte) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	r.FieldsPerRecord = -1 // a short or long row is the API's row error (invalid_csv), not the file's
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("invalid_csv: no header row: %w", err)
	}
	skip := 0
	if len(header) >= len(failedCols) && strings.EqualFold(strings.Join(header[:len(failedCols)], ","), strings.Join(failedCols, ",")) {
		skip = len(failedCols) // a failed-rows file, fixed and imported again
	}
	s.header = header[skip:]
	for {
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("invalid_csv: %w", err)
		}
		if skip > 0 {
			if len(rec) < skip {
				rec = nil
			} else {
				rec = rec[skip:]
			}
		}
		s.rows = append(s.rows, rec)
	}
}

func (s *source) readJSON(data []byte) error {
	var arr []json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &arr); err != nil {
		return fmt.Errorf("invalid_json: the file must be a JSON array of objects: %w", err)
	}
	for _, e := range arr {
		s.rows = append(s.rows, []string{string(e)})
	}
	return nil
}

// encode renders rows[i:j] as one request body.
func (s *source) encode(i, j int) []byte {
	var b bytes.Buffer
	if s.format == "json" {
		b.WriteByte('[')
		for k := i; k < j; k++ {
			if k > i {
				b.WriteByte(',')
			}
			b.WriteString(s.rows[k][0])
		}
		b.WriteByte(']')
		return b.Bytes()
	}
	w := csv.NewWriter(&b)
	w.Write(s.header)
	w.WriteAll(s.rows[i:j])
	return b.Bytes()
}

// rowSize is a row's encoded size (plus a separator).
func (s *source) rowSize(i int) int {
	if s.format == "json" {
		return len(s.rows[i][0]) + 1
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(s.rows[i])
	w.Flush()
	return b.Len()
}

func (s *source) cut(maxBytes, maxRows int) {
	base := len(s.encode(0, 0))
	start, size := 0, base
	for i := range s.rows {
		n := s.rowSize(i)
		if i > start && (size+n > maxBytes || i-start >= maxRows) {
			s.parts = append(s.parts, part{body: s.encode(start, i), first: start, rows: i - start})
			start, size = i, base
		}
		size += n
	}
	s.parts = append(s.parts, part{body: s.encode(start, len(s.rows)), first: start, rows: len(s.rows) - start})
}
