package vex

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/policies"
)

// validate checks doc against the OpenVEX JSON schema (testdata/README.md
// names its source), formats (uri, date-time) included.
func validate(t *testing.T, doc []byte) {
	t.Helper()
	if err := testenv.OpenVEXInvalid(t, doc); err != nil {
		t.Fatalf("not a valid OpenVEX document: %v\n%s", err, doc)
	}
}

var runTime = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// runFindings are a run's findings: two vulnerabilities in Go modules (one
// suppressed), one in an npm package, known from the baseline, and a
// license finding, which is about a package but no advisory.
func runFindings() []findings.Finding {
	return []findings.Finding{
		{Stage: "sca", Tool: "govulncheck", RuleID: "GO-2021-0113", Severity: findings.SeverityLow, Fingerprint: strings.Repeat("1", 32),
			Message: "golang.org/x/text@v0.3.0 has GO-2021-0113 (imported, never called)", Tags: []string{"vulnerability", "unreachable", "CVE-2021-38561"},
			Location: findings.Location{Path: "go.mod", Line: 5}},
		{Stage: "sca", Tool: "govulncheck", RuleID: "GO-2022-0969", Severity: findings.SeverityHigh, Fingerprint: strings.Repeat("2", 32),
			Message: "stdlib@v1.26.8 has GO-2022-0969", Tags: []string{"vulnerability"}, Location: findings.Location{Path: "main.go", Line: 9}},
		{Stage: "sca", Tool: "trivy", RuleID: "CVE-2023-44270", Severity: findings.SeverityMedium, Fingerprint: strings.Repeat("3", 32),
			Message: "@babel/core@7.0.0 is affected by CVE-2023-44270: x; fixed in 7.23.2", Tags: []string{"vulnerability", "lang-pkgs", "npm"},
			Location: findings.Location{Path: "package-lock.json", Line: 3}, Baseline: findings.BaselineKnown},
		{Stage: "licenses", Tool: "syft", RuleID: "license-denied", Severity: findings.SeverityHigh, Fingerprint: strings.Repeat("4", 32),
			Message: "package gpl-lib 1.0 is licensed under GPL-3.0-only", Tags: []string{"license"}, Location: findings.Location{Path: "go.mod", Line: 7}},
	}
}

// policy suppresses the golang.org/x/text advisory, as a policy file would.
func policy(t *testing.T) []policies.Suppression {
	t.Helper()
	sups, err := policies.LoadSuppressions([]byte(`suppressions:
  - package: golang.org/x/text@v0.3.0
    rule: GO-2021-0113
    justification: not reachable from our entry points, upgrade planned in PLAT-812
    owner: api-team
    expires: 2027-01-15
`), "sup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sups
}

func TestExportIsSchemaValidAndSaysWhatTheRunDecided(t *testing.T) {
	fs := runFindings()
	policies.Suppress(policy(t), fs, runTime)
	doc, err := Export(fs, Options{Tooling: "dagsec test", Time: runTime})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, doc)
	again, _ := Export(runFindings(), Options{Tooling: "dagsec test", Time: runTime})
	if bytes.Equal(doc, again) {
		t.Error("a suppression changed nothing in the document")
	}
	var d Document
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Statements) != 3 {
		t.Fatalf("%d statements, want 3 (the license finding has no advisory):\n%s", len(d.Statements), doc)
	}
	byVuln := map[string]Statement{}
	for _, s := range d.Statements {
		byVuln[s.Vulnerability.Name] = s
	}
	text := byVuln["GO-2021-0113"]
	if text.Status != StatusNotAffected || text.ImpactStatement != "not reachable from our entry points, upgrade planned in PLAT-812" ||
		text.Products[0].ID != "pkg:golang/golang.org/x/text@v0.3.0" || !strings.Contains(text.StatusNotes, "owner: api-team") ||
		!strings.Contains(text.StatusNotes, "expires: 2027-01-15") || !strings.Contains(text.StatusNotes, "sup.yaml:2") ||
		len(text.Vulnerability.Aliases) != 1 || text.Vulnerability.Aliases[0] != "CVE-2021-38561" {
		t.Errorf("suppressed statement: %+v", text)
	}
	if s := byVuln["GO-2022-0969"]; s.Status != StatusAffected || s.ActionStatement == "" || s.Products[0].ID != "pkg:golang/stdlib@v1.26.8" {
		t.Errorf("stdlib statement: %+v", s)
	}
	if s := byVuln["CVE-2023-44270"]; s.Status != StatusAffected || s.Products[0].ID != "pkg:npm/%40babel/core@7.0.0" ||
		!strings.Contains(s.ActionStatement, "upgrade it to 7.23.2") || !strings.Contains(s.StatusNotes, "baseline") {
		t.Errorf("npm statement: %+v", s)
	}
}

func TestExportWithoutVulnerabilitiesWritesNothing(t *testing.T) {
	doc, err := Export(runFindings()[3:], Options{Time: runTime})
	if err != nil || doc != nil {
		t.Fatalf("Export = %s, %v; want nothing (a document needs a statement)", doc, err)
	}
}

// TestRoundTrip: a suppression exported, read back as --vex reads it,
// suppresses the same finding, with the same justification, owner and
// expiry.
func TestRoundTrip(t *testing.T) {
	fs := runFindings()
	policies.Suppress(policy(t), fs, runTime)
	doc, err := Export(fs, Options{Time: runTime})
	if err != nil {
		t.Fatal(err)
	}
	sups, err := Read(doc, File, runTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(sups) != 1 {
		t.Fatalf("read %d suppressions, want 1 (affected statements suppress nothing): %+v", len(sups), sups)
	}
	fresh := runFindings()
	rep := policies.Suppress(sups, fresh, runTime)
	for i, f := range fresh {
		if got, want := f.Suppressed != nil, fs[i].Suppressed != nil; got != want {
			t.Errorf("%s: suppressed %v after the round trip, %v before", f.RuleID, got, want)
		}
	}
	s := fresh[0].Suppressed
	if s == nil || !strings.HasPrefix(s.Justification, "not reachable from our entry points, upgrade planned in PLAT-812") ||
		s.Owner != "api-team" || s.Expires != "2027-01-15" || !strings.HasPrefix(s.Source, File+":") {
		t.Errorf("round-tripped suppression: %+v", s)
	}
	if len(rep.Active) != 1 || len(rep.Stale) != 0 {
		t.Errorf("suppression report: %+v", rep)
	}
}

func TestReadStatements(t *testing.T) {
	doc := `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/1",
  "author": "security@example.com",
  "timestamp": "2026-06-01T00:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2024-1"}, "products": [{"@id": "pkg:oci/app", "subcomponents": [{"@id": "pkg:npm/%40scope/lib@1.2.3"}, {"identifiers": {"purl": "pkg:pypi/requests@2.0.0?x=y"}}]}],
     "status": "not_affected", "justification": "vulnerable_code_not_present"},
    {"vulnerability": {"name": "CVE-2024-2"}, "products": [{"@id": "pkg:maven/org.example/lib@1.0"}], "status": "fixed"},
    {"vulnerability": {"name": "CVE-2024-3"}, "timestamp": "2026-06-01T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/m@v1.0.0"}],
     "status": "not_affected", "impact_statement": "dead code"},
    {"vulnerability": {"name": "CVE-2024-3"}, "timestamp": "2026-07-01T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/m@v1.0.0"}],
     "status": "affected", "action_statement": "upgrade"},
    {"vulnerability": {"name": "CVE-2024-4"}, "products": [{"@id": "pkg:golang/example.com/n"}], "status": "under_investigation"}
  ]
}`
	sups, err := Read([]byte(doc), "vendor.vex.json", runTime)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policies.Suppression{}
	for _, s := range sups {
		got[s.Rule+" "+s.Package] = s
	}
	if len(got) != 3 {
		t.Fatalf("suppressions: %+v", sups)
	}
	npm := got["CVE-2024-1 @scope/lib@1.2.3"]
	if npm.Justification != "OpenVEX not_affected: vulnerable_code_not_present" || npm.Owner != "security@example.com" ||
		npm.ExpiresDate() != "2027-06-01" || npm.Source != "vendor.vex.json:8" {
		t.Errorf("npm suppression: %+v (no expiry given: a year from the document's timestamp)", npm)
	}
	if _, ok := got["CVE-2024-1 requests@2.0.0"]; !ok {
		t.Errorf("the subcomponent given by identifiers.purl is missing: %v", got)
	}
	if s, ok := got["CVE-2024-2 org.example:lib@1.0"]; !ok || s.Justification != "OpenVEX fixed" {
		t.Errorf("fixed statement: %v", got)
	}
	for k := range got {
		if strings.HasPrefix(k, "CVE-2024-3") || strings.HasPrefix(k, "CVE-2024-4") {
			t.Errorf("%s is suppressed, but its latest statement says affected, or it is under investigation", k)
		}
	}
}

func TestReadErrorsNameFileLineAndField(t *testing.T) {
	head := `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x:1", "author": "a", "timestamp": "2026-06-01T00:00:00Z", "version": 1,
"statements": [
`
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", "{\n\"statements\": [\n}", "v.json:3: not valid JSON"},
		{"a field of the wrong type", head + `{"vulnerability": {"name": 7}, "status": "fixed"}]}`, "v.json:3: statements.vulnerability.name: want string"},
		{"not OpenVEX", `{"@context": "https://cyclonedx.org", "statements": []}`, `@context "https://cyclonedx.org" is not OpenVEX's`},
		{"no statements", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}`, "v.json: statements: an OpenVEX document holds at least one statement"},
		{"unknown status", head + `{"vulnerability": {"name": "CVE-1"}, "status": "ok", "products": [{"@id": "pkg:npm/a@1"}]}]}`, `v.json:3: statements[0].status: "ok" is not an OpenVEX status`},
		{"bad justification", head + `{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "justification": "meh", "products": [{"@id": "pkg:npm/a@1"}]}]}`, `v.json:3: statements[0].justification: "meh"`},
		{"not_affected without why", head + `{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "products": [{"@id": "pkg:npm/a@1"}]}]}`, "v.json:3: statements[0]: a not_affected statement needs a justification or an impact_statement"},
		{"no vulnerability name", head + `{"vulnerability": {}, "status": "fixed"}]}`, "v.json:3: statements[0].vulnerability.name is required"},
		{"a product without a package URL", head + `{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{"@id": "https://example.com/app"}]}]}`, "v.json:3: statements[0].products[0]: names no package URL"},
		{"no product", head + `{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}]}`, "v.json:3: statements[0].products: none given"},
		{"expiry too far ahead", head + `{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "status_notes": "expires: 2030-01-01", "products": [{"@id": "pkg:npm/a@1"}]}]}`, "v.json:3: statements[0].status_notes: expires 2030-01-01 is more than a year ahead"},
		{"no time at all", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{"@id": "pkg:npm/a@1"}]}]}`, "statements[0]: no timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read([]byte(tc.doc), "v.json", runTime)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPackageURLRoundTrip(t *testing.T) {
	for _, tc := range []struct{ typ, name, version, purl string }{
		{"golang", "golang.org/x/text", "v0.3.0", "pkg:golang/golang.org/x/text@v0.3.0"},
		{"npm", "@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0"},
		{"maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		{"pypi", "requests", "", "pkg:pypi/requests"},
	} {
		if got := PackageURL(tc.typ, tc.name, tc.version); got != tc.purl {
			t.Errorf("PackageURL(%s, %s, %s) = %s, want %s", tc.typ, tc.name, tc.version, got, tc.purl)
		}
		name, version, err := ParsePackageURL(tc.purl)
		if err != nil || name != tc.name || version != tc.version {
			t.Errorf("ParsePackageURL(%s) = %s, %s, %v", tc.purl, name, version, err)
		}
	}
	if _, _, err := ParsePackageURL("https://example.com/x"); err == nil {
		t.Error("a URL parsed as a package URL")
	}
}

func TestSchemaRejectsWhatOpenVEXForbids(t *testing.T) {
	// The schema check is a real check: a statement with both a
	// justification and an impact_statement is invalid OpenVEX.
	data, err := os.ReadFile("testdata/openvex_json_schema.json")
	if err != nil || len(data) == 0 {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	schema, err := c.Compile("testdata/openvex_json_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x:1", "author": "a", "timestamp": "2026-06-01T00:00:00Z", "version": 1,
"statements": [{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "justification": "component_not_present", "impact_statement": "x"}]}`
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if schema.Validate(v) == nil {
		t.Error("the schema accepted a not_affected statement with both a justification and an impact_statement")
	}
}
