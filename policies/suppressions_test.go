package policies

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/stages"
)

// fixedClock makes "today" 2026-05-14 (UTC) for the expiry horizon.
func fixedClock(t *testing.T) {
	t.Helper()
	old := clock
	clock = func() time.Time { return time.Date(2026, 5, 14, 15, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { clock = old })
}

func date(s string) time.Time {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return EndOfDay(d)
}

// badSource checks that src fails to parse with one error at line, whose
// message contains want (which names the field).
func badSource(t *testing.T, parse func([]byte) error, src string, line int, want string) {
	t.Helper()
	err := parse([]byte(src))
	if err == nil {
		t.Fatalf("no error for\n%s", src)
	}
	msg := err.Error()
	prefix := "policy.yaml:" + strconv.Itoa(line) + ": "
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
		t.Errorf("err = %s\nwant prefix %q and %q", msg, prefix, want)
	}
	if strings.Count(msg, "\n") != 0 {
		t.Errorf("more than one error: %s", msg)
	}
}

func parsePolicy(data []byte) error {
	_, err := Parse(data, "policy.yaml", "")
	return err
}

func TestSuppressionParseErrors(t *testing.T) {
	fixedClock(t)
	const ok = "    justification: fine\n    owner: team\n    expires: 2026-12-31\n"
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"missing justification", "suppressions:\n  - rule: G104\n    owner: team\n    expires: 2026-12-31\n", 2,
			"suppressions[0].justification is required (say why the finding is acceptable)"},
		{"missing owner", "suppressions:\n  - rule: G104\n    justification: fine\n    expires: 2026-12-31\n", 2,
			"suppressions[0].owner is required"},
		{"missing expires", "suppressions:\n  - rule: G104\n    justification: fine\n    owner: team\n", 2,
			"suppressions[0].expires is required (a date YYYY-MM-DD, at most a year ahead)"},
		{"empty justification", "suppressions:\n  - rule: G104\n    justification: '  '\n    owner: team\n    expires: 2026-12-31\n", 3,
			"suppressions[0].justification is empty"},
		{"empty owner", "suppressions:\n  - rule: G104\n    justification: x\n    owner: ''\n    expires: 2026-12-31\n", 4,
			"suppressions[0].owner is empty"},
		{"null owner", "suppressions:\n  - rule: G104\n    justification: x\n    owner:\n    expires: 2026-12-31\n", 4,
			"suppressions[0].owner has no value"},
		{"bad date", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: 2026-02-30\n", 5,
			`suppressions[0].expires: want a date YYYY-MM-DD such as 2026-12-31, got "2026-02-30"`},
		{"date in words", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: next week\n", 5,
			`suppressions[0].expires: want a date YYYY-MM-DD`},
		{"date with a time", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: 2026-06-01T10:00:00Z\n", 5,
			`suppressions[0].expires: want a date YYYY-MM-DD`},
		{"date as a number", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: 20260601\n", 5,
			`suppressions[0].expires: want a date YYYY-MM-DD`},
		{"date too far ahead", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: 2027-05-15\n", 5,
			"suppressions[0].expires: 2027-05-15 is more than a year ahead (latest: 2027-05-14)"},
		{"no matcher", "suppressions:\n  - tool: gosec\n    stage: sast\n" + ok, 2,
			"suppressions[0]: no matcher: set at least one of fingerprint, rule, path or package"},
		{"unknown key", "suppressions:\n  - rule: G104\n    justificaton: x\n" + ok, 3,
			`unknown key "justificaton" in suppressions[0] (known: fingerprint, rule, tool, stage, path, package, justification, owner, expires); did you mean "justification"?`},
		{"second entry named", "suppressions:\n  - rule: G104\n" + ok + "  - rule: B101\n    justification: x\n    owner: y\n", 6,
			"suppressions[1].expires is required"},
		{"bad fingerprint", "suppressions:\n  - fingerprint: abc123\n" + ok, 2,
			`suppressions[0].fingerprint: "abc123" is not a finding fingerprint`},
		{"unknown tool", "suppressions:\n  - rule: G104\n    tool: gosecc\n" + ok, 3,
			`suppressions[0].tool: unknown tool "gosecc"`},
		{"tool of another stage", "suppressions:\n  - rule: G104\n    stage: sca\n    tool: gosec\n" + ok, 4,
			`suppressions[0].tool: unknown tool "gosec" for stage sca`},
		{"unknown stage", "suppressions:\n  - rule: G104\n    stage: sats\n" + ok, 3,
			`suppressions[0].stage: unknown stage "sats"`},
		{"bad glob", "suppressions:\n  - path: 'src/[a'\n" + ok, 2,
			`suppressions[0].path: "src/[a" is not a valid glob`},
		{"folder path", "suppressions:\n  - path: src/\n" + ok, 2,
			`suppressions[0].path: "src/" ends with / and so matches nothing (for a folder write src/**)`},
		{"empty rule", "suppressions:\n  - rule: ''\n" + ok, 2, "suppressions[0].rule is empty"},
		{"rule with spaces around", "suppressions:\n  - rule: ' G104'\n" + ok, 2, "suppressions[0].rule: \" G104\" has leading or trailing spaces"},
		{"rule as a number", "suppressions:\n  - rule: 10038\n" + ok, 2, `suppressions[0].rule: want a string, got "10038" (quote it`},
		{"package without version", "suppressions:\n  - package: lodash@\n" + ok, 2, `suppressions[0].package: "lodash@" is not a package name or name@version`},
		{"entry not a mapping", "suppressions:\n  - G104\n", 2, `suppressions[0]: want a mapping such as {rule: G104`},
		{"not a list", "suppressions: {rule: G104}\n", 1, "suppressions: want a list of suppressions, got a mapping"},
		{"duplicate", "suppressions:\n  - rule: G104\n" + ok + "  - rule: G104\n" + ok, 6,
			"suppressions[1]: matches the same findings as the suppression at line 2 (merge the two)"},
		{"duplicate key", "suppressions:\n  - rule: G104\n    rule: B101\n" + ok, 3, `duplicate key "rule" in suppressions[0] (first at line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { badSource(t, parsePolicy, tt.src, tt.line, tt.want) })
	}
}

func TestSuppressionParse(t *testing.T) {
	fixedClock(t)
	src := `version: 1
extends: strict
suppressions:
  - rule: G104
    tool: gosec
    stage: sast
    path: "internal/legacy/**"
    justification: |
      Close errors on read-only files are harmless.
    owner: platform-team
    expires: 2026-09-30
  - {package: "@babel/core@7.0.0", justification: dev only, owner: alice, expires: "2027-05-14"}
  - fingerprint: 0123456789ABCDEF0123456789ABCDEF:2
    justification: fixture
    owner: qa
    expires: 2020-01-01
`
	p, err := Parse([]byte(src), "dagsec.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Suppression{
		{Rule: "G104", Tool: "gosec", Stage: "sast", Path: "internal/legacy/**",
			Justification: "Close errors on read-only files are harmless.", Owner: "platform-team",
			Expires: time.Date(2026, 9, 30, 23, 59, 59, 999999999, time.UTC), Source: "dagsec.yaml:4"},
		{Package: "@babel/core@7.0.0", Justification: "dev only", Owner: "alice", Expires: date("2027-05-14"), Source: "dagsec.yaml:12"},
		// Past dates load: the suppression just no longer works.
		{Fingerprint: "0123456789abcdef0123456789abcdef:2", Justification: "fixture", Owner: "qa", Expires: date("2020-01-01"), Source: "dagsec.yaml:13"},
	}
	if !reflect.DeepEqual(p.Suppressions, want) {
		t.Errorf("got  %+v\nwant %+v", p.Suppressions, want)
	}
	// extends still works, and presets bring no suppressions.
	if p.Stage(stages.SCA).BlockOn != med {
		t.Errorf("strict not applied: %+v", p.Stage(stages.SCA))
	}
	for _, n := range PresetNames() {
		pre, _ := Preset(n)
		if pre.Suppressions != nil {
			t.Errorf("preset %s has suppressions", n)
		}
	}
	// Appending to the parsed policy does not reach the preset.
	p.Suppressions = append(p.Suppressions, Suppression{Rule: "x"})
	if pre, _ := Preset("strict"); len(pre.Suppressions) != 0 {
		t.Error("preset changed")
	}
	if q, _ := Parse([]byte("suppressions:\n"), "p.yaml", ""); q == nil || q.Suppressions != nil {
		t.Errorf("null suppressions: %+v", q)
	}
}

func TestLoadSuppressions(t *testing.T) {
	fixedClock(t)
	src := "version: 1\nsuppressions:\n  - rule: B101\n    path: 'tests/**'\n    justification: asserts in tests\n    owner: qa\n    expires: 2026-06-30\n"
	got, err := LoadSuppressions([]byte(src), "suppressions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Suppression{{Rule: "B101", Path: "tests/**", Justification: "asserts in tests", Owner: "qa", Expires: date("2026-06-30"), Source: "suppressions.yaml:3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	if got, err := LoadSuppressions([]byte("suppressions: []\n"), "s.yaml"); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v %v", got, err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "sup.yaml")
	os.WriteFile(file, []byte(src), 0o644)
	if got, err := ReadSuppressions(file); err != nil || len(got) != 1 || got[0].Source != file+":3" {
		t.Errorf("ReadSuppressions: %+v %v", got, err)
	}
	if _, err := ReadSuppressions(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file read")
	}

	load := func(data []byte) error {
		_, err := LoadSuppressions(data, "policy.yaml")
		return err
	}
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"policy keys", "version: 1\nstages: {}\nsuppressions: []\n", 2, `unknown key "stages" at top level (known: version, suppressions)`},
		{"no suppressions key", "version: 1\n", 1, "no suppressions key"},
		{"empty", "", 1, "suppressions file is empty"},
		{"list at the root", "- rule: G104\n", 1, "a suppressions file is a mapping of settings (version, suppressions), got a list"},
		{"version 2", "version: 2\nsuppressions: []\n", 1, "unsupported suppressions file version 2 (supported: 1)"},
		{"bad entry", "suppressions:\n  - rule: G104\n    justification: x\n    owner: y\n    expires: tomorrow\n", 5, "suppressions[0].expires: want a date"},
		{"syntax", "suppressions:\n  - rule: [G104\n", 2, "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { badSource(t, load, tt.src, tt.line, tt.want) })
	}
}

func sup(rule string, expires string, line int) Suppression {
	return Suppression{Rule: rule, Justification: "because " + rule, Owner: "team", Expires: date(expires), Source: "dagsec.yaml:" + strconv.Itoa(line)}
}

func TestSuppress(t *testing.T) {
	now := time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC)
	input := func() []findings.Finding {
		return []findings.Finding{
			{Stage: stages.SAST, Tool: "gosec", RuleID: "G104", Severity: high, Location: findings.Location{Path: "a.go"}, Tags: []string{"x"}},
			{Stage: stages.SAST, Tool: "gosec", RuleID: "G104", Severity: high, Location: findings.Location{Path: "b.go"}},
			{Stage: stages.SAST, Tool: "gosec", RuleID: "G401", Severity: crit, Location: findings.Location{Path: "c.go"}},
			{Stage: stages.SAST, Tool: "bandit", RuleID: "B101", Severity: low, Location: findings.Location{Path: "t.py"},
				Suppressed: &findings.Suppressed{Justification: "stale state from an old report"}},
		}
	}
	sups := []Suppression{
		sup("G104", "2026-05-14", 10), // last day: still works
		sup("G104", "2027-01-01", 20), // shadowed by the first
		sup("G401", "2026-05-13", 30), // expired yesterday
		sup("B999", "2026-12-31", 40), // matches nothing: stale
		sup("B998", "2026-01-01", 50), // expired and matches nothing
	}

	// SuppressionUsage counts what Suppress does, changing nothing.
	fs := input()
	usage := SuppressionUsage(sups, fs, now)
	if !reflect.DeepEqual(fs, input()) {
		t.Error("SuppressionUsage changed the findings")
	}
	rep := Suppress(sups, fs, now)
	if !reflect.DeepEqual(rep, usage) {
		t.Errorf("Suppress reports\n%+v\nSuppressionUsage\n%+v", rep, usage)
	}

	wantSup := &findings.Suppressed{Justification: "because G104", Owner: "team", Expires: "2026-05-14", Source: "dagsec.yaml:10"}
	for i, want := range []*findings.Suppressed{wantSup, wantSup, nil, nil} {
		if !reflect.DeepEqual(fs[i].Suppressed, want) {
			t.Errorf("finding %d Suppressed = %+v, want %+v", i, fs[i].Suppressed, want)
		}
	}
	// Only Suppressed changed.
	for i, f := range fs {
		f.Suppressed = input()[i].Suppressed
		if !reflect.DeepEqual(f, input()[i]) {
			t.Errorf("finding %d changed beyond Suppressed: %+v", i, f)
		}
	}

	use := func(s Suppression, matched, suppressed int) SuppressionUse {
		return SuppressionUse{Suppression: s, Matched: matched, Suppressed: suppressed}
	}
	want := SuppressionReport{
		Active:  []SuppressionUse{use(sups[0], 2, 2), use(sups[1], 2, 0)},
		Expired: []SuppressionUse{use(sups[2], 1, 0), use(sups[4], 0, 0)},
		Stale:   []Suppression{sups[3], sups[4]},
	}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report\n got %+v\nwant %+v", rep, want)
	}

	// The day after, the first one has expired too and its findings count.
	after := time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)
	rep = Suppress(sups, fs, after)
	if fs[0].Suppressed == nil || fs[0].Suppressed.Source != "dagsec.yaml:20" {
		t.Errorf("after expiry: %+v", fs[0].Suppressed)
	}
	if len(rep.Expired) != 3 || rep.Expired[0].Suppression != sups[0] || rep.Expired[0].Matched != 2 {
		t.Errorf("after expiry: expired %+v", rep.Expired)
	}

	// Suppressing again gives the same findings; nothing in, empty lists out.
	again := slices.Clone(fs)
	Suppress(sups, again, after)
	if !reflect.DeepEqual(again, fs) {
		t.Error("not idempotent")
	}
	rep = Suppress(nil, nil, now)
	if rep.Active == nil || rep.Expired == nil || rep.Stale == nil {
		t.Errorf("empty: %+v", rep)
	}
}

func TestSuppressionMatches(t *testing.T) {
	f := findings.Finding{
		Stage: stages.SCA, Tool: "trivy", RuleID: "CVE-2019-14806", Severity: high,
		Message:     "Werkzeug@0.11 is affected by CVE-2019-14806: insufficient PIN randomness; fixed in 0.15.3",
		Location:    findings.Location{Path: "services/api/requirements.txt", Line: 3},
		Fingerprint: "0123456789abcdef0123456789abcdef", Tags: []string{"vulnerability", "pip"},
	}
	tests := []struct {
		name string
		s    Suppression
		want bool
	}{
		{"fingerprint", Suppression{Fingerprint: "0123456789abcdef0123456789abcdef"}, true},
		{"fingerprint any case", Suppression{Fingerprint: "0123456789ABCDEF0123456789ABCDEF"}, true},
		{"other occurrence", Suppression{Fingerprint: "0123456789abcdef0123456789abcdef:2"}, false},
		{"rule", Suppression{Rule: "CVE-2019-14806"}, true},
		{"rule and tool", Suppression{Rule: "CVE-2019-14806", Tool: "trivy"}, true},
		{"rule of another tool", Suppression{Rule: "CVE-2019-14806", Tool: "grype"}, false},
		{"rule and stage", Suppression{Rule: "CVE-2019-14806", Stage: stages.Image}, false},
		{"glob **", Suppression{Path: "services/**"}, true},
		{"glob **/name", Suppression{Path: "**/requirements.txt"}, true},
		{"glob * within an element", Suppression{Path: "services/*/requirements.txt"}, true},
		{"glob * does not cross /", Suppression{Path: "services/*"}, false},
		{"exact path", Suppression{Path: "services/api/requirements.txt"}, true},
		{"other folder", Suppression{Path: "web/**"}, false},
		{"package", Suppression{Package: "Werkzeug"}, true},
		{"package ignores case", Suppression{Package: "werkzeug"}, true},
		{"package and version", Suppression{Package: "werkzeug@0.11"}, true},
		{"package, other version", Suppression{Package: "werkzeug@0.12"}, false},
		{"other package", Suppression{Package: "flask"}, false},
		{"package and path", Suppression{Package: "werkzeug", Path: "web/**"}, false},
		{"tool alone matches nothing", Suppression{Tool: "trivy"}, false},
		{"nothing matches nothing", Suppression{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Matches(f); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	noPath := f
	noPath.Location.Path = ""
	if (Suppression{Path: "**"}).Matches(noPath) {
		t.Error("a path glob matched a finding without a path")
	}
	dast := findings.Finding{Stage: stages.DAST, Tool: "zap", RuleID: "zap-10038", Location: findings.Location{Path: "/api/login"}}
	if !(Suppression{Path: "/api/**"}).Matches(dast) {
		t.Error("a URL path glob did not match")
	}
	sast := findings.Finding{Stage: stages.SAST, Tool: "semgrep", RuleID: "r", Message: "eval@x is dangerous", Location: findings.Location{Path: "a.py"}}
	if (Suppression{Package: "eval"}).Matches(sast) {
		t.Error("a package matched a finding that is not about a package")
	}
}

// TestPackageFromParsers runs the real parsers on their test reports: the
// package matcher reads the start of their messages.
func TestPackageFromParsers(t *testing.T) {
	must := func(fs []findings.Finding, err error) []findings.Finding {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			t.Fatal("no findings")
		}
		return fs
	}
	trivyPip, _, err := stages.ParseTrivy(samples.Read(t, "trivy-golden-pip.json"), stages.SCA)
	trivyLic, _, err2 := stages.ParseTrivy(samples.Read(t, "trivy-defectdojo-licenses-image.json"), stages.Image)
	osv, _, err3 := stages.ParseOSVScannerIn(samples.Read(t, "osv-scanner-v2.6.0-go-callanalysis.json"), "/tmp/dagsec-samples/imported")
	gv, _, err4 := stages.ParseGovulncheck(samples.Read(t, "govulncheck-v1.9.0-imported.json.gz"), 0)
	for _, e := range []error{err, err2, err3, err4} {
		if e != nil {
			t.Fatal(e)
		}
	}
	tests := []struct {
		name    string
		fs      []findings.Finding
		pkg     string
		version string
	}{
		{"trivy vulnerability", trivyPip, "Werkzeug", "0.11"},
		{"trivy license", trivyLic, "alpine-baselayout", ""},
		{"grype", must(stages.ParseGrype(samples.Read(t, "grype-v0.112.0-npm-directory.json"))), "postcss", "8.4.31"},
		{"osv-scanner", osv, "golang.org/x/text", ""},
		{"govulncheck", gv, "stdlib", "v1.26.8"},
		{"syft license", must(stages.EvaluateLicenses(samples.Read(t, "syft-v1.57.1-npm.cdx.json"),
			stages.LicensePolicy{Deny: []string{"MIT"}, Unknown: stages.LicenseWarn})), "is-number", "7.0.0"},
		{"syft scoped npm package", must(stages.EvaluateLicenses(samples.Read(t, "syft-v1.57.1-npm.cdx.json"),
			stages.LicensePolicy{Deny: []string{"MIT"}, Unknown: stages.LicenseWarn})), "@corp/internal-sdk", "3.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hit *findings.Finding
			for i, f := range tt.fs {
				name, version, ok := f.Package()
				// A license file, rather than a package, has none.
				if isFile := f.Location.Path != "" && strings.HasPrefix(f.Message, f.Location.Path+" "); ok == isFile || (ok && name == "") {
					t.Errorf("package %q (%v) in %q", name, ok, f.Message)
				}
				if name == tt.pkg && hit == nil {
					hit = &tt.fs[i]
					if tt.version != "" && version != tt.version {
						t.Errorf("%q: version %q, want %q", f.Message, version, tt.version)
					}
				}
			}
			if hit == nil {
				t.Fatalf("no finding about %s", tt.pkg)
			}
			pat := tt.pkg
			if tt.version != "" {
				pat += "@" + tt.version
			}
			if !(Suppression{Package: pat}).Matches(*hit) || !(Suppression{Package: strings.ToUpper(tt.pkg)}).Matches(*hit) {
				t.Errorf("package %s does not match %q", pat, hit.Message)
			}
		})
	}
}

func TestSuppressionReportJSON(t *testing.T) {
	s := Suppression{Rule: "G104", Tool: "gosec", Path: "a/**", Justification: "j", Owner: "o", Expires: date("2026-06-30"), Source: "p.yaml:3"}
	rep := SuppressionReport{
		Active:  []SuppressionUse{{Suppression: s, Matched: 3, Suppressed: 2}},
		Expired: []SuppressionUse{},
		Stale:   []Suppression{s},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"active":[{"rule":"G104","tool":"gosec","path":"a/**","justification":"j","owner":"o","expires":"2026-06-30","source":"p.yaml:3","matched":3,"suppressed":2}],` +
		`"expired":[],"stale":[{"rule":"G104","tool":"gosec","path":"a/**","justification":"j","owner":"o","expires":"2026-06-30","source":"p.yaml:3"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back SuppressionReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, rep)
	}
	if err := json.Unmarshal([]byte(`{"stale":[{"expires":"soon"}]}`), &back); err == nil {
		t.Error("a bad date was read")
	}
}

func TestMarshalRoundTripNewSettings(t *testing.T) {
	fixedClock(t)
	src := `version: 1
extends: audit
stages:
  sast:
    severity:
      G104: low
      semgrep/python.lang.security.audit.eval: critical
      "10038": high
  iac:
    severity: {CKV_AWS_20: critical}
suppressions:
  - rule: G104
    tool: gosec
    stage: sast
    path: "internal/**"
    justification: "multi\nline: with # and 'quotes'"
    owner: "@platform-team"
    expires: 2026-09-30
  - {package: "@babel/core@7.0.0", justification: dev only, owner: alice, expires: "2027-05-14"}
  - fingerprint: 0123456789abcdef0123456789abcdef
    justification: "yes"
    owner: "123"
    expires: 2020-02-29
targets:
  mttr_critical: 24h
  mttr_high: 1h30m
  scanned: 99.25
  open_critical: 3
  secret_leaks: 1
  image_age: 2160h
`
	p, err := Parse([]byte(src), "custom.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# from custom.yaml:12\n", "# from custom.yaml:19\n", "severity:\n", "scanned: 99.25\n", "mttr_high: 1h30m\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, preset := range []string{"", p.Extends} {
		back, err := Parse(out, p.Name, preset)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		for i := range back.Suppressions {
			if !strings.HasPrefix(back.Suppressions[i].Source, "custom.yaml:") {
				t.Errorf("source %q", back.Suppressions[i].Source)
			}
			back.Suppressions[i].Source = p.Suppressions[i].Source
		}
		if !reflect.DeepEqual(back, p) {
			t.Errorf("round trip changed the policy\n got %+v\nwant %+v\n%s", back, p, out)
		}
	}
}

func TestMarshalRejectsInvalidNewSettings(t *testing.T) {
	fixedClock(t)
	good := Suppression{Rule: "G104", Justification: "j", Owner: "o", Expires: date("2026-06-01")}
	tests := []struct {
		name string
		edit func(*Policy)
	}{
		{"invalid override severity", func(p *Policy) {
			sp := p.Stages[stages.SAST]
			sp.Severity = map[string]findings.Severity{"G104": 0}
			p.Stages[stages.SAST] = sp
		}},
		{"override for another stage's tool", func(p *Policy) {
			sp := p.Stages[stages.SAST]
			sp.Severity = map[string]findings.Severity{"trivy/X": low}
			p.Stages[stages.SAST] = sp
		}},
		{"suppression without justification", func(p *Policy) { s := good; s.Justification = ""; p.Suppressions = []Suppression{s} }},
		{"suppression without matcher", func(p *Policy) { s := good; s.Rule = ""; p.Suppressions = []Suppression{s} }},
		{"suppression without expiry", func(p *Policy) { s := good; s.Expires = time.Time{}; p.Suppressions = []Suppression{s} }},
		{"suppression too far ahead", func(p *Policy) { s := good; s.Expires = date("2030-01-01"); p.Suppressions = []Suppression{s} }},
		{"zero MTTR", func(p *Policy) { p.Targets.MTTRCritical = 0 }},
		{"percent above 100", func(p *Policy) { p.Targets.ScannedPercent = 100.5 }},
		{"negative count", func(p *Policy) { p.Targets.SecretLeaks = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := Preset("default")
			tt.edit(p)
			if out, err := p.Marshal(); err == nil {
				t.Errorf("no error; got\n%s", out)
			}
		})
	}
	p, _ := Preset("default")
	p.Suppressions = []Suppression{good}
	if _, err := p.Marshal(); err != nil {
		t.Errorf("valid hand-built suppression: %v", err)
	}
}

// A finding dedup merged from two tools is matched by either tool's
// fingerprint and name.
func TestSuppressionMatchesMergedCopies(t *testing.T) {
	f := findings.Finding{Stage: "sca", Tool: "govulncheck", RuleID: "GO-2021-0113", Severity: findings.SeverityHigh,
		Fingerprint: "aaaa", MergedFingerprints: []string{"bbbb"}, AlsoFoundBy: []string{"osv-scanner"}}
	for _, s := range []Suppression{{Fingerprint: "BBBB"}, {Rule: "GO-2021-0113", Tool: "osv-scanner"}, {Fingerprint: "aaaa", Tool: "govulncheck"}} {
		if !s.Matches(f) {
			t.Errorf("%+v does not match the merged finding", s)
		}
	}
	if (Suppression{Rule: "GO-2021-0113", Tool: "trivy"}).Matches(f) {
		t.Error("a tool that did not report it matches")
	}
}
