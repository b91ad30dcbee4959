package findings_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

// sortInput is n findings over 20 tools, 1,200 paths, lines and rules, with
// ties (same severity, path, line, tool and rule) that must keep their order.
func sortInput(n int) []findings.Finding {
	r := rand.New(rand.NewPCG(1, 2))
	fs := make([]findings.Finding, n)
	for i := range fs {
		fs[i] = findings.Finding{
			Stage: "sast", Tool: fmt.Sprintf("tool%02d", r.IntN(20)), RuleID: fmt.Sprintf("RULE-%03d", r.IntN(150)),
			Severity: findings.Severities()[r.IntN(5)], Message: fmt.Sprint("finding ", i),
			Location: findings.Location{Path: fmt.Sprintf("dir%d/file%03d.go", r.IntN(6), r.IntN(200)), Line: 1 + r.IntN(900)},
		}
	}
	return fs
}

// BenchmarkSort100k sorts 100,000 findings: in random order, and as a run
// report holds them before Report.finish sorts them (each of 8 stages'
// findings already sorted, one stage after the other).
func BenchmarkSort100k(b *testing.B) {
	random := sortInput(100_000)
	stages := slices.Clone(random)
	for i := 0; i < len(stages); i += len(stages) / 8 {
		findings.Sort(stages[i:min(i+len(stages)/8, len(stages))])
	}
	for _, in := range []struct {
		name string
		fs   []findings.Finding
	}{{"random", random}, {"stages", stages}} {
		b.Run(in.name, func(b *testing.B) {
			work := make([]findings.Finding, len(in.fs))
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				copy(work, in.fs)
				b.StartTimer()
				findings.Sort(work)
			}
		})
	}
}
