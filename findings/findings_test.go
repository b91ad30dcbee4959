package findings

import (
	"encoding/json"
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
