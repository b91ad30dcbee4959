package policies

import (
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Concurrency bounds the tool runs a run has going at once; zero fields
// leave the runner's defaults (pipeline.DefaultLimits: the machine's cores
// and half of its memory).
type Concurrency struct {
	// Jobs is how many tool runs go at once.
	Jobs int
	// MemoryMB is how much memory the runs going at once may hold
	// together, by each run's estimate.
	MemoryMB int64
	// GoAnalysers, when set, caps the Go analysers (gosec, govulncheck)
	// among them, which load and type-check a whole module and can take
	// gigabytes each on a large one.
	GoAnalysers int
}

// maxConcurrency keeps a typo (jobs: 10000) from forking a storm.
const maxConcurrency = 256

var concurrencyKeys = []string{"jobs", "memory_mb", "go_analysers"}

// maxMemoryMB bounds memory_mb (a petabyte is a typo).
const maxMemoryMB = 1 << 30

// rawConcurrency holds what a file sets; nil keeps the base's.
type rawConcurrency struct {
	jobs, goAnalysers *int
	memoryMB          *int64
}

func (r rawConcurrency) apply(c *Concurrency) {
	set(&c.Jobs, r.jobs)
	set(&c.MemoryMB, r.memoryMB)
	set(&c.GoAnalysers, r.goAnalysers)
}

// concurrency reads `concurrency: {jobs: N, go_analysers: M}`.
func (p *parser) concurrency(v *yaml.Node, raw *rawConcurrency) {
	m := p.mappingOf(v, "concurrency", "a mapping of jobs, memory_mb and go_analysers")
	if m == nil {
		return
	}
	p.mapping(m, "in concurrency", concurrencyKeys, "known", func(key string, k, v *yaml.Node) bool {
		if !slices.Contains(concurrencyKeys, key) {
			return false
		}
		n, ok := p.integer(v, "concurrency."+key)
		if !ok {
			return true
		}
		most := maxConcurrency
		if key == "memory_mb" {
			most = maxMemoryMB
		}
		if n < 1 || n > most {
			p.errorf(v, "concurrency.%s: want 1 to %d, got %d", key, most, n)
			return true
		}
		switch key {
		case "jobs":
			raw.jobs = &n
		case "memory_mb":
			mb := int64(n)
			raw.memoryMB = &mb
		case "go_analysers":
			raw.goAnalysers = &n
		}
		return true
	})
}

func (c Concurrency) marshal() *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range []struct {
		k string
		v int64
	}{{"jobs", int64(c.Jobs)}, {"memory_mb", c.MemoryMB}, {"go_analysers", int64(c.GoAnalysers)}} {
		if kv.v > 0 {
			addPair(m, kv.k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(kv.v, 10)})
		}
	}
	return m
}
