package pipeline

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dagsec/dagsec/policies"
)

// Node is one stage in the DAG: its needs and the work that judges it.
type Node struct {
	Name  string
	Needs []string
	// After are stages whose output the node reads but whose gate it does
	// not need: it waits for them and runs even when they blocked, not
	// when they errored or were skipped (there is no output then).
	After []string
	Run   func(ctx context.Context) NodeResult
}

// NodeResult is a node's verdict. Quiet marks a skip that does not hold back
// dependants (a stage disabled by policy); every other skip, block or error does.
type NodeResult struct {
	Status    policies.Status
	Reason    string
	Quiet     bool
	StartedAt time.Time
	Duration  time.Duration
}

// holdsBack reports whether dependants of a node with this result must not
// start; gateOnly dependants (After) are not held back by a block.
func (r NodeResult) holdsBack(gateOnly bool) bool {
	switch r.Status {
	case policies.StatusBlocked:
		return !gateOnly
	case policies.StatusError:
		return true
	case policies.StatusSkipped:
		return !r.Quiet
	}
	return false
}

// Schedule runs every node as soon as all of its needs have finished, in
// parallel, up to limit at once (0: no limit). A node whose need was blocked,
// errored or skipped is not run: it is skipped with the reason. Needs that
// are not among nodes are ignored, so a subset of stages can run alone.
func Schedule(ctx context.Context, nodes []Node, limit int) (map[string]NodeResult, error) {
	byName := make(map[string]*Node, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if _, dup := byName[n.Name]; dup {
			return nil, fmt.Errorf("stage %q appears twice", n.Name)
		}
		byName[n.Name] = n
	}
	if err := checkAcyclic(nodes, byName); err != nil {
		return nil, err
	}

	var (
		mu      sync.Mutex
		results = make(map[string]NodeResult, len(nodes))
		done    = make(map[string]chan struct{}, len(nodes))
		wg      sync.WaitGroup
		sem     chan struct{}
	)
	if limit > 0 {
		sem = make(chan struct{}, limit)
	}
	for _, n := range nodes {
		done[n.Name] = make(chan struct{})
	}
	for i := range nodes {
		n := nodes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n.Name])
			var held []string
			wait := func(names []string, gateOnly bool) {
				for _, need := range names {
					ch, ok := done[need]
					if !ok {
						continue
					}
					<-ch
					mu.Lock()
					r := results[need]
					mu.Unlock()
					if r.holdsBack(gateOnly) {
						held = append(held, fmt.Sprintf("%s (%s)", need, r.Status))
					}
				}
			}
			wait(n.Needs, false)
			wait(n.After, true)
			var res NodeResult
			switch {
			case len(held) > 0:
				res = NodeResult{Status: policies.StatusSkipped, Reason: "needs " + joinAnd(held)}
			case ctx.Err() != nil:
				res = NodeResult{Status: policies.StatusError, Reason: "not started: " + ctx.Err().Error()}
			default:
				if sem != nil {
					sem <- struct{}{}
				}
				start := time.Now()
				res = n.Run(ctx)
				if res.StartedAt.IsZero() {
					res.StartedAt = start
				}
				if res.Duration == 0 {
					res.Duration = time.Since(start)
				}
				if sem != nil {
					<-sem
				}
			}
			mu.Lock()
			results[n.Name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results, nil
}

func checkAcyclic(nodes []Node, byName map[string]*Node) error {
	const (
		unvisited = iota
		visiting
		visited
	)
	state := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case visiting:
			return fmt.Errorf("stages form a cycle: %v", append(path, name))
		case visited:
			return nil
		}
		state[name] = visiting
		for _, need := range slices.Concat(byName[name].Needs, byName[name].After) {
			if _, ok := byName[need]; ok {
				if err := visit(need, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = visited
		return nil
	}
	for _, n := range nodes {
		if err := visit(n.Name, nil); err != nil {
			return err
		}
	}
	return nil
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, it := range items[1 : len(items)-1] {
		out += ", " + it
	}
	return out + " and " + items[len(items)-1]
}
