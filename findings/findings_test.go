package findings

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"critical": SeverityCritical, "HIGH": SeverityHigh, " medium ": SeverityMedium, "low": SeverityLow, "info": SeverityInfo} {
		got, err := ParseSeverity(in)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "severe", "warning", "5"} {
		if _, err := ParseSeverity(bad); err == nil {
			t.Errorf("ParseSeverity(%q) accepted", bad)
		}
	}
}

func TestSeverityJSON(t *testing.T) {
	b, err := json.Marshal(SeverityHigh)
	if err != nil || string(b) != `"high"` {
		t.Fatalf("%s %v", b, err)
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"bogus"`), &s); err == nil {
		t.Fatal("bogus severity decoded")
	}
	if _, err := json.Marshal(Severity(0)); err == nil {
		t.Fatal("zero severity encoded")
	}
}

func TestFingerprintIgnoresLinesButNotIdentity(t *testing.T) {
	a := Finding{Stage: "secrets", Tool: "gitleaks", RuleID: "r", Severity: SeverityHigh, Location: Location{Path: "a.py", Line: 3}, Identity: "x  = REDACTED"}
	moved := a
	moved.Location.Line, moved.Location.Column, moved.Identity = 40, 7, "x = REDACTED"
	if Fingerprint(a) != Fingerprint(moved) {
		t.Error("fingerprint changed with the line or white space")
	}
	other := a
	other.Identity = "y = REDACTED"
	if Fingerprint(a) == Fingerprint(other) {
		t.Error("different identities share a fingerprint")
	}
	elsewhere := a
	elsewhere.Location.Path = "b.py"
	if Fingerprint(a) == Fingerprint(elsewhere) {
		t.Error("different files share a fingerprint")
	}
}

func TestAssignFingerprintsKeepsTwinsApartInFileOrder(t *testing.T) {
	twin := Finding{Stage: "s", Tool: "t", RuleID: "r", Severity: SeverityLow, Location: Location{Path: "a"}}
	fs := []Finding{twin, twin}
	fs[0].Location.Line, fs[1].Location.Line = 9, 2
	AssignFingerprints(fs)
	if fs[0].Fingerprint == fs[1].Fingerprint {
		t.Fatal("twins share a fingerprint")
	}
	// The earlier one in the file gets the plain fingerprint, whatever the slice order.
	if fs[1].Fingerprint != Fingerprint(twin) {
		t.Errorf("first occurrence in the file should get the base fingerprint")
	}
}

func TestValidate(t *testing.T) {
	ok := Finding{Stage: "s", Tool: "t", RuleID: "r", Severity: SeverityInfo}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Finding{
		{Tool: "t", RuleID: "r", Severity: SeverityInfo},
		{Stage: "s", RuleID: "r", Severity: SeverityInfo},
		{Stage: "s", Tool: "t", Severity: SeverityInfo},
		{Stage: "s", Tool: "t", RuleID: "r"},
	} {
		if f.Validate() == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}

// Sort is the stable sort by its documented order: checked against
// sort.SliceStable on random findings with many ties, and on findings
// already sorted in runs (a report's stages one after the other).
func TestSortIsStableByDocumentedOrder(t *testing.T) {
	less := func(x, y Finding) bool {
		if x.Severity != y.Severity {
			return x.Severity > y.Severity
		}
		if x.Location.Path != y.Location.Path {
			return x.Location.Path < y.Location.Path
		}
		if x.Location.Line != y.Location.Line {
			return x.Location.Line < y.Location.Line
		}
		if x.Tool != y.Tool {
			return x.Tool < y.Tool
		}
		return x.RuleID < y.RuleID
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 50, 1000, 5000} {
		fs := make([]Finding, n)
		for i := range fs {
			fs[i] = Finding{Severity: Severity(r.IntN(7) - 1), Tool: fmt.Sprint("t", r.IntN(3)), RuleID: fmt.Sprint("r", r.IntN(3)),
				Location: Location{Path: fmt.Sprint("p", r.IntN(4)), Line: r.IntN(4) - 1}, Message: fmt.Sprint(i)}
		}
		for _, runs := range []int{1, 8} {
			in := slices.Clone(fs)
			for k := 0; runs > 1 && k < runs; k++ {
				part := in[k*n/runs : (k+1)*n/runs]
				sort.SliceStable(part, func(a, b int) bool { return less(part[a], part[b]) })
			}
			want := slices.Clone(in)
			sort.SliceStable(want, func(a, b int) bool { return less(want[a], want[b]) })
			Sort(in)
			if !slices.EqualFunc(in, want, func(a, b Finding) bool { return a.Message == b.Message }) {
				t.Fatalf("%d findings in %d sorted runs: not the stable order", n, runs)
			}
		}
	}
}
