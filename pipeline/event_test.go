package pipeline_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
)

// Config.Progress hears every tool that runs start and then finish, with
// the folder it scans (one gosec run per Go module), how long it took and
// what it found; tools that did not run (bandit: no Python) are silent.
func TestProgressEventsOfEachTool(t *testing.T) {
	testenv.Tool(t, "gosec")
	tls := "package main\n\nimport \"crypto/tls\"\n\nvar Config = &tls.Config{InsecureSkipVerify: true}\n\nfunc main() {}\n"
	dir := testenv.Dir(t, map[string]string{
		"api/go.mod":  "module example.com/api\n\ngo 1.22\n",
		"api/main.go": tls,
		"web/go.mod":  "module example.com/web\n\ngo 1.22\n",
		"web/main.go": "package main\n\nfunc main() {}\n",
	})
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := policies.Preset("default")
	var (
		mu     sync.Mutex
		events []pipeline.Event
	)
	rep, err := pipeline.Run(context.Background(), pipeline.Config{
		Runner: r, Policy: pol, Stages: []string{"sast"}, Source: dir,
		Progress: func(e pipeline.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	started := map[string]time.Time{}
	var finished []string
	for _, e := range events {
		if e.Stage != "sast" || e.Tool != "gosec" {
			t.Errorf("event of %s/%s: only gosec runs", e.Stage, e.Tool)
		}
		switch e.Kind {
		case pipeline.ToolStarted:
			started[e.Target] = e.Time
		case pipeline.ToolFinished:
			if _, ok := started[e.Target]; !ok {
				t.Errorf("gosec on %q finished before it started", e.Target)
			}
			if e.Duration <= 0 || e.Error != "" {
				t.Errorf("gosec on %q: duration %v, error %q", e.Target, e.Duration, e.Error)
			}
			want := map[string]int{"api": 1, "web": 0}[e.Target]
			if e.Findings != want {
				t.Errorf("gosec on %q: %d findings, want %d", e.Target, e.Findings, want)
			}
			finished = append(finished, e.Target)
		}
	}
	slices.Sort(finished)
	if !slices.Equal(finished, []string{"api", "web"}) || len(started) != 2 {
		t.Errorf("gosec ran on %v, finished on %v; want api and web", started, finished)
	}
	// The default preset's sast gate (critical) is above gosec's reach.
	if s := rep.Stages[0]; s.TopSeverity != "high" || !strings.Contains(rep.Markdown(), "**sast** blocks on critical, but what ran there (gosec) reports at most high") {
		t.Errorf("top severity %q; Markdown:\n%s", s.TopSeverity, rep.Markdown())
	}
}
