package policies

import (
	"math"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Targets are the goals the metrics report measures a project against. They
// never block a run. The default preset sets every one; a file sets only the
// ones it changes:
//
//	targets:
//	  mttr_critical: 48h   # fix a critical finding within (mean time to remediate)
//	  mttr_high: 168h      # fix a high finding within (7 days)
//	  scanned: 100         # percent of what should be scanned that was
//	  open_critical: 0     # critical findings open at any time
//	  secret_leaks: 0      # secrets leaked per quarter
//	  image_age: 720h      # oldest a deployed image's base may be (30 days)
//
// Durations are Go durations and positive; scanned is a number from 0 to
// 100; the counts are zero or more.
type Targets struct {
	// MTTRCritical and MTTRHigh are the mean times to remediate a critical
	// and a high finding: from first seen to gone.
	MTTRCritical, MTTRHigh time.Duration
	// ImageAge is the oldest a deployed image (its base) may be.
	ImageAge time.Duration
	// ScannedPercent is the share, 0 to 100, of what should be scanned
	// that was.
	ScannedPercent float64
	// OpenCritical is the most critical findings open at once.
	OpenCritical int
	// SecretLeaks is the most secrets leaked per quarter.
	SecretLeaks int
}

var targetKeys = []string{"mttr_critical", "mttr_high", "scanned", "open_critical", "secret_leaks", "image_age"}

// rawTargets holds what a file sets; nil fields keep the base's value.
type rawTargets struct {
	mttrCritical, mttrHigh, imageAge *time.Duration
	scanned                          *float64
	openCritical, secretLeaks        *int
}

func (r rawTargets) apply(t *Targets) {
	set(&t.MTTRCritical, r.mttrCritical)
	set(&t.MTTRHigh, r.mttrHigh)
	set(&t.ImageAge, r.imageAge)
	set(&t.ScannedPercent, r.scanned)
	set(&t.OpenCritical, r.openCritical)
	set(&t.SecretLeaks, r.secretLeaks)
}

func (p *parser) targets(v *yaml.Node, raw *rawTargets) {
	m := resolve(v)
	if isNull(m) {
		return // "targets:" with nothing under it changes nothing
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(v, "targets: want a mapping such as {mttr_critical: 48h, scanned: 100}, got %s", describe(m))
		return
	}
	p.mapping(m, "in targets", targetKeys, "known", func(key string, k, v *yaml.Node) bool {
		at := "targets." + key
		switch key {
		case "mttr_critical":
			raw.mttrCritical = p.duration(v, at)
		case "mttr_high":
			raw.mttrHigh = p.duration(v, at)
		case "image_age":
			raw.imageAge = p.duration(v, at)
		case "scanned":
			raw.scanned = p.percent(v, at)
		case "open_critical":
			raw.openCritical = p.count(v, at)
		case "secret_leaks":
			raw.secretLeaks = p.count(v, at)
		default:
			return false
		}
		return true
	})
}

// percent reads a number from 0 to 100.
func (p *parser) percent(v *yaml.Node, at string) *float64 {
	r, ok := p.scalar(v, at, "a percentage from 0 to 100")
	if !ok {
		return nil
	}
	var f float64
	tag := r.ShortTag()
	if (tag != "!!int" && tag != "!!float") || r.Decode(&f) != nil {
		p.errorf(v, "%s: want a percentage from 0 to 100 such as 95 (no %% sign), got %s", at, describe(r))
		return nil
	}
	if math.IsNaN(f) || f < 0 || f > 100 {
		p.errorf(v, "%s: must be from 0 to 100, got %s", at, r.Value)
		return nil
	}
	return &f
}

// count reads an integer of zero or more.
func (p *parser) count(v *yaml.Node, at string) *int {
	n, ok := p.integer(v, at)
	if !ok {
		return nil
	}
	if n < 0 {
		p.errorf(v, "%s: must be zero or more, got %d", at, n)
		return nil
	}
	return &n
}

// marshal writes every target; values the parser rejects (a zero duration)
// are caught when Marshal parses its output back.
func (t Targets) marshal() *yaml.Node {
	m := mapNode()
	addPair(m, "mttr_critical", strNode(formatDuration(t.MTTRCritical)))
	addPair(m, "mttr_high", strNode(formatDuration(t.MTTRHigh)))
	pct := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(t.ScannedPercent, 'f', -1, 64)}
	if t.ScannedPercent == math.Trunc(t.ScannedPercent) && !math.IsInf(t.ScannedPercent, 0) {
		pct.Tag = "!!int"
	}
	addPair(m, "scanned", pct)
	addPair(m, "open_critical", intNode(t.OpenCritical))
	addPair(m, "secret_leaks", intNode(t.SecretLeaks))
	addPair(m, "image_age", strNode(formatDuration(t.ImageAge)))
	return m
}

func intNode(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}
