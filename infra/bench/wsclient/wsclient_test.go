package wsclient

import (
	"testing"
	"time"
)

func TestOrder(t *testing.T) {
	p := func(conv string, seq int64) Push { return Push{Conv: conv, Seq: seq} }
	tests := []struct {
		name          string
		pushes        []Push
		dup, outOfOrd int
	}{
		{"in order", []Push{p("a", 1), p("a", 2), p("b", 1), p("a", 3)}, 0, 0},
		{"gap is not out of order", []Push{p("a", 1), p("a", 3)}, 0, 0},
		{"duplicate", []Push{p("a", 1), p("a", 2), p("a", 2)}, 1, 0},
		{"duplicate of an older seq", []Push{p("a", 1), p("a", 2), p("a", 1)}, 1, 0},
		{"lower seq late", []Push{p("a", 1), p("a", 3), p("a", 2)}, 0, 1},
		{"conversations apart", []Push{p("a", 5), p("b", 1), p("b", 2)}, 0, 0},
		{"late then its duplicate", []Push{p("a", 2), p("a", 1), p("a", 1)}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dup, ooo := Order(tc.pushes)
			if dup != tc.dup || ooo != tc.outOfOrd {
				t.Errorf("Order = %d duplicated, %d out of order; want %d, %d", dup, ooo, tc.dup, tc.outOfOrd)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name string
		d    []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of 4 unsorted", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(func() []int {
			xs := make([]int, 100)
			for i := range xs {
				xs[i] = 100 - i
			}
			return xs
		}()...), 99, 99 * time.Millisecond},
		{"p100", ms(1, 2, 3), 100, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.d, tc.p); got != tc.want {
				t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}
