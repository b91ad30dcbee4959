package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagsec/dagsec/policies"
)

// peak tracks how many of something are going at once, and the most.
type peak struct{ now, most atomic.Int64 }

func (p *peak) add(n int64) {
	v := p.now.Add(n)
	for m := p.most.Load(); v > m && !p.most.CompareAndSwap(m, v); m = p.most.Load() {
	}
}

// Tool runs go at most Jobs at once, within the memory budget by their
// estimates, and at most GoAnalysers Go analysers when capped; a run
// estimated over the whole budget runs alone.
func TestSlotsBoundToolRuns(t *testing.T) {
	cases := []struct {
		name   string
		limits Limits
		runs   []struct {
			tool string
			mb   int64
		}
		mostRuns     int64
		mostMemory   int64
		mostAnalyser int64
	}{
		{"jobs", Limits{Jobs: 2, MemoryMB: 100000}, runsOf("trivy", 100, 8), 2, 200, 2},
		{"memory", Limits{Jobs: 8, MemoryMB: 1000}, runsOf("gosec", 400, 8), 2, 800, 2},
		{"over budget runs alone", Limits{Jobs: 8, MemoryMB: 1000}, runsOf("govulncheck", 5000, 4), 1, 1000, 1},
		{"go analysers capped", Limits{Jobs: 8, MemoryMB: 100000, GoAnalysers: 1}, runsOf("gosec", 100, 6), 1, 100, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSlots(tc.limits)
			var runs, mem peak
			var wg sync.WaitGroup
			for _, r := range tc.runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					release, err := s.acquire(context.Background(), r.tool, r.mb)
					if err != nil {
						t.Error(err)
						return
					}
					held := min(r.mb, tc.limits.MemoryMB)
					runs.add(1)
					mem.add(held)
					time.Sleep(15 * time.Millisecond)
					mem.add(-held)
					runs.add(-1)
					release()
				}()
			}
			wg.Wait()
			if runs.most.Load() != tc.mostRuns || mem.most.Load() != tc.mostMemory {
				t.Errorf("at most %d runs holding %d MB at once; want %d and %d MB", runs.most.Load(), mem.most.Load(), tc.mostRuns, tc.mostMemory)
			}
		})
	}

	// A cancelled wait gives back what it took.
	s := newSlots(Limits{Jobs: 1, MemoryMB: 1000})
	release, _ := s.acquire(context.Background(), "gosec", 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.acquire(ctx, "trivy", 10); err == nil {
		t.Fatal("a full run let another tool in")
	}
	release()
	r, err := s.acquire(context.Background(), "govulncheck", 1000)
	if err != nil {
		t.Fatal(err)
	}
	r()
}

func runsOf(tool string, mb int64, n int) []struct {
	tool string
	mb   int64
} {
	out := make([]struct {
		tool string
		mb   int64
	}, n)
	for i := range out {
		out[i].tool, out[i].mb = tool, mb
	}
	return out
}

// The command line's limits win over the policy's, which win over the
// machine's.
func TestLimitsFor(t *testing.T) {
	pol := &policies.Policy{Concurrency: policies.Concurrency{Jobs: 6, MemoryMB: 4000, GoAnalysers: 2}}
	def := DefaultLimits()
	cases := []struct {
		cfg  Config
		want Limits
	}{
		{Config{}, def},
		{Config{Policy: pol}, Limits{6, 4000, 2}},
		{Config{Policy: pol, Limits: Limits{Jobs: 1, MemoryMB: 900}}, Limits{1, 900, 2}},
		{Config{Policy: pol, Limits: Limits{GoAnalysers: 4}}, Limits{6, 4000, 4}},
	}
	for _, tc := range cases {
		if got := limitsFor(tc.cfg); got != tc.want {
			t.Errorf("limitsFor(%+v) = %+v, want %+v", tc.cfg.Limits, got, tc.want)
		}
	}
	if def.Jobs < 1 || def.MemoryMB < 1024 || def.GoAnalysers != 0 {
		t.Errorf("defaults %+v", def)
	}
}
