package bench

import (
	"debug/elf"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ColdStart is every function's arm64 size and linux/amd64 init time
// against the hello-world baseline built the same way.
type ColdStart struct {
	BuildFlags string          `json:"build_flags"`
	Runs       int             `json:"runs"`
	Hello      FunctionStart   `json:"hello"`
	Functions  []FunctionStart `json:"functions"`
	Probes     []Probe         `json:"size_probes"`
	// Spent is what the largest function's code and data are spent on,
	// by module (symbol sizes of an unstripped build).
	Spent        []ModuleSize `json:"spent"`
	SpentOf      string       `json:"spent_of"`
	SymbolsBytes int64        `json:"symbol_bytes"`
}

// FunctionStart is one function's figures.
type FunctionStart struct {
	Name        string   `json:"name"`
	SizeBytes   int64    `json:"arm64_bootstrap_bytes"`
	InitMs      float64  `json:"init_ms_median"`
	XHello      float64  `json:"init_x_hello"`
	NetworkAtIn []string `json:"network_calls_during_init"`
	Failed      string   `json:"init_failed,omitempty"`
}

// Probe is a small program whose size prices a dependency.
type Probe struct {
	Name      string  `json:"name"`
	What      string  `json:"what"`
	SizeBytes int64   `json:"arm64_bytes"`
	InitMs    float64 `json:"init_ms_median"`
}

// ModuleSize is the bytes of symbols of one module.
type ModuleSize struct {
	Module string `json:"module"`
	Bytes  int64  `json:"bytes"`
}

var modulePattern = regexp.MustCompile(`^(github\.com/aws/aws-sdk-go-v2/service/[^/.]+|github\.com/aws/aws-sdk-go-v2/(?:config|credentials|feature/[^/.]+/[^/.]+|internal)|github\.com/aws/aws-sdk-go-v2|github\.com/[^/]+/[^/.]+|golang\.org/x/[^/.]+)`)

// moduleOf is the module (or std) a symbol belongs to.
func moduleOf(sym string) string {
	for _, pre := range []string{"type:", "go:", "*", ".eq.", "go.shape."} {
		sym = strings.TrimPrefix(sym, pre)
	}
	if i := strings.IndexAny(sym, "[("); i >= 0 {
		sym = sym[:i]
	}
	if m := modulePattern.FindString(sym); m != "" {
		return m
	}
	pkg := sym // the package path: up to the first dot after the last slash
	if i := strings.Index(sym[strings.LastIndex(sym, "/")+1:], "."); i >= 0 {
		pkg = sym[:strings.LastIndex(sym, "/")+1+i]
	}
	if strings.HasPrefix(pkg, "vendor/") || !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
		return "Go standard library, runtime and its tables"
	}
	return "other"
}

// SymbolSizes groups the sizes of path's symbols that occupy the file (not
// .bss) by module, largest first.
func SymbolSizes(path string) ([]ModuleSize, int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: open %s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, 0, fmt.Errorf("bench: symbols of %s: %w", path, err)
	}
	by := map[string]int64{}
	var total int64
	for _, s := range syms {
		if int(s.Section) <= 0 || int(s.Section) >= len(f.Sections) || f.Sections[s.Section].Type == elf.SHT_NOBITS {
			continue
		}
		by[moduleOf(s.Name)] += int64(s.Size)
		total += int64(s.Size)
	}
	out := make([]ModuleSize, 0, len(by))
	for m, b := range by {
		out = append(out, ModuleSize{m, b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out, total, nil
}

// SplitFlags splits a Makefile flag string (GOFLAGS_LAMBDA) as the shell
// would: spaces separate, double quotes group.
func SplitFlags(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}

const mb = 1 << 20

func (c *ColdStart) markdown(p func(string, ...any)) {
	p("")
	p("## Cold start and size")
	p("")
	p("Each function built as the Makefile builds it (`%s`, linux/arm64: the size; linux/amd64, the same code for this machine: the init time). Init time is from process start until the bootstrap asks a fake Runtime API (on 127.0.0.1) for its first event, median of %d, with the template's environment; `AWS_ENDPOINT_URL`, `HTTP_PROXY` and `HTTPS_PROXY` point at the same fake, which records every call init makes (and answers Secrets Manager's GetSecretValue with a key, refusing anything else). The baseline is `infra/bench/probes/hello`, a hello-world Go Lambda built the same way.", c.BuildFlags, c.Runs)
	p("")
	p("| function | arm64 bootstrap | under 10 MB | init ms | vs hello | network calls during init |")
	p("| --- | ---: | --- | ---: | ---: | --- |")
	row := func(f FunctionStart) {
		net := strings.Join(f.NetworkAtIn, ", ")
		if net == "" {
			net = "none"
		}
		if f.Failed != "" {
			net += "; init failed: " + f.Failed
		}
		if f.InitMs == 0 && f.Failed == "" {
			p("| %s | %.2f MB | %s | not timed (bench-quick) | | |", f.Name, float64(f.SizeBytes)/mb, map[bool]string{true: "yes", false: "**no**"}[f.SizeBytes < 10*mb])
			return
		}
		p("| %s | %.2f MB | %s | %.1f | %.2f× | %s |", f.Name, float64(f.SizeBytes)/mb, map[bool]string{true: "yes", false: "**no**"}[f.SizeBytes < 10*mb], f.InitMs, f.XHello, net)
	}
	row(c.Hello)
	for _, f := range c.Functions {
		row(f)
	}
	p("")
	p("What the size is spent on (%s, unstripped linux/arm64 build, sizes of symbols in the file, %.1f MB in all; the stripped binary also carries the pcln and type tables these symbols need):", c.SpentOf, float64(c.SymbolsBytes)/mb)
	p("")
	p("| module | MB | share |")
	p("| --- | ---: | ---: |")
	for i, m := range c.Spent {
		if i == 15 {
			break
		}
		p("| %s | %.2f | %.0f %% |", m.Module, float64(m.Bytes)/mb, 100*float64(m.Bytes)/float64(c.SymbolsBytes))
	}
	p("")
	p("Size probes (stripped linux/arm64, same flags), which price a dependency by building with and without it:")
	p("")
	p("| probe | what | MB | init ms |")
	p("| --- | --- | ---: | ---: |")
	for _, pr := range c.Probes {
		p("| %s | %s | %.2f | %.1f |", pr.Name, pr.What, float64(pr.SizeBytes)/mb, pr.InitMs)
	}
}
