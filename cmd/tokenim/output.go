package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// printer writes command results as a table (the default, for people) or
// as JSON (--output json, for scripts: the API's own objects, unchanged).
type printer struct {
	w    io.Writer
	json bool
}

func newPrinter(w io.Writer, format string) (printer, error) {
	switch format {
	case "", "table":
		return printer{w: w}, nil
	case "json":
		return printer{w: w, json: true}, nil
	}
	return printer{}, fmt.Errorf("--output %q: use table or json", format)
}

// object prints one API object: JSON as is, or a two-column table of its
// fields in the order given (then any others, sorted).
func (p printer) object(v map[string]any, order ...string) error {
	if p.json {
		return p.raw(v)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	seen := map[string]bool{}
	for _, k := range order {
		if val, ok := v[k]; ok {
			fmt.Fprintf(tw, "%s\t%s\n", k, cell(val))
		}
		seen[k] = true
	}
	var rest []string
	for k := range v {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(v[k]))
	}
	return tw.Flush()
}

// list prints rows with the given columns; in JSON, the whole reply.
func (p printer) list(reply any, rows []map[string]any, cols ...string) error {
	if p.json {
		return p.raw(reply)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(r[c])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func (p printer) raw(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cell renders a JSON value in one table cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// rowsOf returns reply[key] as a list of objects.
func rowsOf(reply map[string]any, key string) []map[string]any {
	arr, _ := reply[key].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// sortRows orders rows by a string column.
func sortRows(rows []map[string]any, col string) {
	sort.Slice(rows, func(i, j int) bool { return cell(rows[i][col]) < cell(rows[j][col]) })
}
