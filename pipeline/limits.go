package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sync/semaphore"

	"github.com/dagsec/dagsec/policies"
)

// Limits bound the tool runs a run has going at once: Jobs in all (the
// CPU budget), and the memory they may hold together by their estimates
// (stages.Step.MemoryMB), so the Go analysers of a large monorepo, which
// take gigabytes each, run one module at a time when the budget asks for
// it. GoAnalysers, when set, also caps the gosec and govulncheck runs.
type Limits struct {
	Jobs        int   `json:"jobs"`
	MemoryMB    int64 `json:"memory_mb"`
	GoAnalysers int   `json:"go_analysers,omitempty"`
}

// jobsPerCore: scanners wait on the disk and on the processes they start
// (the Go command, git) as much as they compute, so a few more runs than
// cores keep the machine busy; memory is the budget that protects it.
const jobsPerCore = 4

// DefaultLimits are sized from the machine: four tool runs a core, and
// half of its memory.
func DefaultLimits() Limits {
	return Limits{Jobs: jobsPerCore * max(runtime.NumCPU(), 1), MemoryMB: max(memTotal()/2>>20, 1024)}
}

// memTotal is the machine's memory in bytes (Linux's /proc/meminfo), 8 GB
// when unknown.
func memTotal() int64 {
	const unknown = 8 << 30
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return unknown
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return unknown
}

// limitsFor is what bounds a run: the command line's (Config), else the
// policy's, else DefaultLimits.
func limitsFor(cfg Config) Limits {
	l := DefaultLimits()
	pc := policies.Concurrency{}
	if cfg.Policy != nil {
		pc = cfg.Policy.Concurrency
	}
	pick := func(given, named, def int64) int64 {
		switch {
		case given > 0:
			return given
		case named > 0:
			return named
		}
		return def
	}
	l.Jobs = int(pick(int64(cfg.Limits.Jobs), int64(pc.Jobs), int64(l.Jobs)))
	l.MemoryMB = pick(cfg.Limits.MemoryMB, pc.MemoryMB, l.MemoryMB)
	l.GoAnalysers = int(pick(int64(cfg.Limits.GoAnalysers), int64(pc.GoAnalysers), 0))
	return l
}

// slots hands out the run's tool-run slots and memory.
type slots struct {
	limits      Limits
	jobs        chan struct{}
	memory      *semaphore.Weighted
	goAnalysers chan struct{} // nil: no cap of their own
}

func newSlots(l Limits) *slots {
	s := &slots{limits: l, jobs: make(chan struct{}, l.Jobs), memory: semaphore.NewWeighted(l.MemoryMB)}
	if l.GoAnalysers > 0 {
		s.goAnalysers = make(chan struct{}, l.GoAnalysers)
	}
	return s
}

// goAnalysers are the tools GoAnalysers counts.
var goAnalysers = map[string]bool{"gosec": true, "govulncheck": true}

// acquire waits until one run of tool, estimated to hold memMB, may start:
// a Go analyser's slot (when capped), then its memory (a run estimated over
// the whole budget takes all of it and runs alone), then a job slot, so a
// waiting run holds as little as it can. It returns the release.
func (s *slots) acquire(ctx context.Context, tool string, memMB int64) (func(), error) {
	if s == nil {
		return func() {}, nil
	}
	var undo []func()
	release := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	take := func(ch chan struct{}) error {
		select {
		case ch <- struct{}{}:
			undo = append(undo, func() { <-ch })
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.goAnalysers != nil && goAnalysers[tool] {
		if err := take(s.goAnalysers); err != nil {
			release()
			return nil, err
		}
	}
	mem := min(max(memMB, 1), s.limits.MemoryMB)
	if err := s.memory.Acquire(ctx, mem); err != nil {
		release()
		return nil, err
	}
	undo = append(undo, func() { s.memory.Release(mem) })
	if err := take(s.jobs); err != nil {
		release()
		return nil, err
	}
	return release, nil
}
