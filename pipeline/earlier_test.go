package pipeline_test

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

func reportWith(stages map[string]policies.Status) *pipeline.Report {
	r := &pipeline.Report{}
	for name, st := range stages {
		r.Stages = append(r.Stages, pipeline.StageReport{Name: name, Status: st})
	}
	return r
}

// A stage in several earlier reports counts with its worst status, so one
// blocked run of it holds production back.
func TestEarlierVerdicts(t *testing.T) {
	scan := reportWith(map[string]policies.Status{"secrets": policies.StatusPassed, "sast": policies.StatusWarned})
	rescan := reportWith(map[string]policies.Status{"secrets": policies.StatusBlocked, "sast": policies.StatusPassed})
	dast := reportWith(map[string]policies.Status{"dast": policies.StatusSkipped})
	got, err := pipeline.EarlierVerdicts([]string{"a", "b", "c"}, []*pipeline.Report{scan, rescan, dast})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policies.Status{"secrets": policies.StatusBlocked, "sast": policies.StatusWarned, "dast": policies.StatusSkipped}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %s, want %s", k, got[k], v)
		}
	}
	_, err = pipeline.EarlierVerdicts([]string{"x/report.json"}, []*pipeline.Report{reportWith(map[string]policies.Status{"sca": "great"})})
	if err == nil || !strings.Contains(err.Error(), `x/report.json: stage sca has status "great"`) {
		t.Errorf("an unknown status: %v", err)
	}
}
