package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagsec/dagsec/policies"
)

func node(name string, needs []string, run func(context.Context) NodeResult) Node {
	return Node{Name: name, Needs: needs, Run: run}
}

func status(s policies.Status) func(context.Context) NodeResult {
	return func(context.Context) NodeResult { return NodeResult{Status: s} }
}

// Independent stages must be running at the same time: each waits until all
// of them have started, which deadlocks (and times out) if run one by one.
func TestScheduleRunsIndependentStagesConcurrently(t *testing.T) {
	const n = 4
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	var nodes []Node
	for _, name := range []string{"secrets", "sast", "iac", "dockerfile"} {
		nodes = append(nodes, node(name, nil, func(ctx context.Context) NodeResult {
			started.Done()
			select {
			case <-all:
				return NodeResult{Status: policies.StatusPassed}
			case <-time.After(10 * time.Second):
				return NodeResult{Status: policies.StatusError, Reason: "peers never started"}
			}
		}))
	}
	res, err := Schedule(context.Background(), nodes, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range res {
		if r.Status != policies.StatusPassed {
			t.Errorf("%s: %s %s", name, r.Status, r.Reason)
		}
	}
}

func TestScheduleOrdersAndSkipsDependants(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	track := func(name string, s policies.Status) func(context.Context) NodeResult {
		return func(context.Context) NodeResult {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return NodeResult{Status: s}
		}
	}
	nodes := []Node{
		node("secrets", nil, track("secrets", policies.StatusBlocked)),
		node("sast", nil, track("sast", policies.StatusWarned)),
		node("iac", nil, track("iac", policies.StatusPassed)),
		node("build", []string{"secrets", "sast", "iac"}, track("build", policies.StatusPassed)),
		node("image", []string{"build"}, track("image", policies.StatusPassed)),
		node("lint", []string{"sast", "iac"}, track("lint", policies.StatusPassed)),
	}
	res, err := Schedule(context.Background(), nodes, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policies.Status{
		"secrets": policies.StatusBlocked, "sast": policies.StatusWarned, "iac": policies.StatusPassed,
		"build": policies.StatusSkipped, "image": policies.StatusSkipped, "lint": policies.StatusPassed,
	}
	for name, s := range want {
		if res[name].Status != s {
			t.Errorf("%s: %s, want %s (%s)", name, res[name].Status, s, res[name].Reason)
		}
	}
	if !strings.Contains(res["build"].Reason, "secrets (blocked)") {
		t.Errorf("build skip reason %q does not name the blocked need", res["build"].Reason)
	}
	if !strings.Contains(res["image"].Reason, "build (skipped)") {
		t.Errorf("image skip reason %q does not name the skipped need", res["image"].Reason)
	}
	for _, name := range ran {
		if name == "build" || name == "image" {
			t.Errorf("%s ran although a need was blocked", name)
		}
	}
	// A warned stage does not hold back its dependants.
	if res["lint"].Status != policies.StatusPassed {
		t.Errorf("lint was held back by a warning")
	}
}

func TestScheduleErrorHoldsBackButQuietSkipDoesNot(t *testing.T) {
	nodes := []Node{
		node("a", nil, status(policies.StatusError)),
		node("b", nil, func(context.Context) NodeResult {
			return NodeResult{Status: policies.StatusSkipped, Reason: "disabled by policy", Quiet: true}
		}),
		node("after-a", []string{"a"}, status(policies.StatusPassed)),
		node("after-b", []string{"b"}, status(policies.StatusPassed)),
		node("after-missing", []string{"not-selected"}, status(policies.StatusPassed)),
	}
	res, err := Schedule(context.Background(), nodes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res["after-a"].Status != policies.StatusSkipped {
		t.Errorf("dependant of an errored stage ran: %+v", res["after-a"])
	}
	if res["after-b"].Status != policies.StatusPassed {
		t.Errorf("disabled stage held back its dependant: %+v", res["after-b"])
	}
	if res["after-missing"].Status != policies.StatusPassed {
		t.Errorf("a need outside the selection held a stage back: %+v", res["after-missing"])
	}
}

func TestScheduleRejectsCyclesAndDuplicates(t *testing.T) {
	if _, err := Schedule(context.Background(), []Node{
		node("a", []string{"b"}, status(policies.StatusPassed)),
		node("b", []string{"a"}, status(policies.StatusPassed)),
	}, 0); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := Schedule(context.Background(), []Node{
		node("a", nil, status(policies.StatusPassed)),
		node("a", nil, status(policies.StatusPassed)),
	}, 0); err == nil {
		t.Errorf("duplicate stage accepted")
	}
}

func TestScheduleLimitsParallelism(t *testing.T) {
	var mu sync.Mutex
	cur, peak := 0, 0
	run := func(context.Context) NodeResult {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		return NodeResult{Status: policies.StatusPassed}
	}
	var nodes []Node
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		nodes = append(nodes, node(n, nil, run))
	}
	if _, err := Schedule(context.Background(), nodes, 2); err != nil {
		t.Fatal(err)
	}
	if peak > 2 {
		t.Fatalf("%d stages ran at once with a limit of 2", peak)
	}
}

// BenchmarkScheduleWideDAG measures scheduling overhead on a wide DAG whose
// stages do no work.
func BenchmarkScheduleWideDAG(b *testing.B) {
	var nodes []Node
	for i := range 50 {
		nodes = append(nodes, node(string(rune('A'+i)), nil, status(policies.StatusPassed)))
	}
	for b.Loop() {
		if _, err := Schedule(context.Background(), nodes, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// After orders without gating: a blocked build still has an image to scan,
// an errored or skipped one has none.
func TestScheduleAfterRunsPastABlockButNotAnError(t *testing.T) {
	for _, tc := range []struct {
		build policies.Status
		want  policies.Status
	}{
		{policies.StatusBlocked, policies.StatusPassed},
		{policies.StatusPassed, policies.StatusPassed},
		{policies.StatusError, policies.StatusSkipped},
		{policies.StatusSkipped, policies.StatusSkipped},
	} {
		var buildDone bool
		nodes := []Node{
			{Name: "build", Run: func(context.Context) NodeResult {
				time.Sleep(20 * time.Millisecond)
				buildDone = true
				return NodeResult{Status: tc.build}
			}},
			{Name: "image", After: []string{"build"}, Run: func(context.Context) NodeResult {
				if !buildDone {
					return NodeResult{Status: policies.StatusError, Reason: "started before build finished"}
				}
				return NodeResult{Status: policies.StatusPassed}
			}},
			{Name: "staging", Needs: []string{"build", "image"}, Run: status(policies.StatusPassed)},
		}
		res, err := Schedule(context.Background(), nodes, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := res["image"]; got.Status != tc.want {
			t.Errorf("build %s: image %s %q, want %s", tc.build, got.Status, got.Reason, tc.want)
		}
		if tc.build == policies.StatusBlocked && res["staging"].Status != policies.StatusSkipped {
			t.Errorf("build blocked: staging %s, want skipped behind the gate", res["staging"].Status)
		}
	}
}
