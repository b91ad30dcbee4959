package stages

import "testing"

// Every tool of every stage has a known ceiling, so a gate above it is
// reported (pipeline's top_severity) rather than left unknown.
func TestEveryToolHasATopSeverity(t *testing.T) {
	for _, d := range All() {
		for _, tool := range d.Tools {
			sev, ok := TopSeverity(d.Name, tool)
			if !ok {
				t.Errorf("%s/%s: no top severity", d.Name, tool)
			}
			if sev != 0 && !sev.Valid() {
				t.Errorf("%s/%s: invalid top severity %d", d.Name, tool, sev)
			}
		}
	}
	if _, ok := TopSeverity(SAST, "no-such-tool"); ok {
		t.Errorf("an unknown tool has a top severity")
	}
}
