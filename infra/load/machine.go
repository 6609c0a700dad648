package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// machine samples the machine's load while the run goes: the 1-minute
// load average, CPU busy share, and live sandboxes per function (the
// processes running a bootstrap under binDir).
type machine struct {
	binDir string
	mu     sync.Mutex
	load   []float64
	busy   []float64
	boxes  map[string]int // max live sandboxes per function dir
}

type machineSummary struct {
	Cores         int            `json:"cores"`
	LoadAvg1Mean  float64        `json:"load_avg_1m_mean"`
	LoadAvg1Max   float64        `json:"load_avg_1m_max"`
	CPUBusyMean   float64        `json:"cpu_busy_mean_percent"`
	MaxSandboxes  map[string]int `json:"max_live_sandboxes"`
	SampleSeconds int            `json:"sample_every_seconds"`
}

func (m *machine) run(stop <-chan struct{}) {
	prevBusy, prevTotal := cpuTimes()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		busy, total := cpuTimes()
		boxes := m.sandboxes()
		m.mu.Lock()
		if total > prevTotal {
			m.busy = append(m.busy, 100*float64(busy-prevBusy)/float64(total-prevTotal))
		}
		if b, err := os.ReadFile("/proc/loadavg"); err == nil {
			if v, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64); err == nil {
				m.load = append(m.load, v)
			}
		}
		for k, v := range boxes {
			m.boxes[k] = max(m.boxes[k], v)
		}
		m.mu.Unlock()
		prevBusy, prevTotal = busy, total
	}
}

// cpuTimes reads the aggregate cpu line of /proc/stat (busy, total jiffies).
func cpuTimes() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// sandboxes counts processes whose command is <binDir>/<fn>/bootstrap.
func (m *machine) sandboxes() map[string]int {
	out := map[string]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	prefix := m.binDir + string(filepath.Separator)
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		cmd, _, _ := strings.Cut(string(b), "\x00")
		if rest, ok := strings.CutPrefix(cmd, prefix); ok && strings.HasSuffix(rest, "/bootstrap") {
			out[strings.TrimSuffix(rest, "/bootstrap")]++
		}
	}
	return out
}

func (m *machine) summary(cores int) machineSummary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := machineSummary{Cores: cores, MaxSandboxes: m.boxes, SampleSeconds: 2}
	for _, v := range m.load {
		s.LoadAvg1Mean += v / float64(len(m.load))
		s.LoadAvg1Max = max(s.LoadAvg1Max, v)
	}
	for _, v := range m.busy {
		s.CPUBusyMean += v / float64(len(m.busy))
	}
	return s
}
