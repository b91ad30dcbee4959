package stages_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Genuine grype -o json reports committed to public repositories
// (provenance in testdata/SOURCES.md): grype cannot run here, its
// database host is unreachable.
const (
	grypeNpmDir  = "testdata/grype-v0.112.0-npm-directory.json"
	grypePipSBOM = "testdata/grype-v0.114.0-pip-sbom.json"
	grypeClean   = "testdata/grype-v0.112.0-clean.json"
)

func parseGrype(t *testing.T, name string) []findings.Finding {
	t.Helper()
	fs, err := stages.ParseGrype(readSample(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// Without a Dockerfile, no file: the paths are inside the image.
		if f.Stage != stages.Image || f.Tool != "grype" || f.Fingerprint == "" || f.Message == "" || f.Location.Path != "" {
			t.Errorf("%s: incomplete finding %+v", name, f)
		}
		if seen[f.Fingerprint] {
			t.Errorf("%s: fingerprint %s twice", name, f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
	return fs
}

func TestParseGrypeGenuineSamples(t *testing.T) {
	type want struct {
		id   string
		sev  findings.Severity
		path string
		tags []string
		msg  []string
	}
	for _, tc := range []struct {
		file string
		want []want
	}{
		{grypeNpmDir, []want{{
			id: "GHSA-qx2v-qp2m-jg93", sev: findings.SeverityMedium, path: "package-lock.json",
			tags: []string{"vulnerability", "npm", "github:language:javascript", "CVE-2026-41305"},
			msg:  []string{"postcss@8.4.31 (npm) is affected by GHSA-qx2v-qp2m-jg93 (CVE-2026-41305)", "fixed in 8.5.10"},
		}}},
		// A scan of an SBOM: the packages have no locations (path "").
		{grypePipSBOM, []want{
			{id: "GHSA-4xh5-x5gv-qwph", sev: findings.SeverityMedium, tags: []string{"CVE-2025-8869", "python"}},
			{id: "GHSA-6vgw-5pg2-w6jp", sev: findings.SeverityLow, tags: []string{"CVE-2026-1703"}},
			{id: "GHSA-jp4c-xjxw-mgf9", sev: findings.SeverityMedium, tags: []string{"CVE-2026-6357"}},
			{id: "GHSA-58qw-9mgm-455v", sev: findings.SeverityMedium, tags: []string{"CVE-2026-3219"},
				msg: []string{"pip@24.2 (python)", "fixed in 26.1"}},
		}},
		{grypeClean, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			fs := parseGrype(t, tc.file)
			if fs == nil || len(fs) != len(tc.want) {
				t.Fatalf("got %d findings (%v), want %d", len(fs), ruleIDs(fs), len(tc.want))
			}
			for i, w := range tc.want {
				f := fs[i]
				if f.RuleID != w.id || f.Severity != w.sev || inImage(f) != w.path {
					t.Errorf("finding %d: %s %s at %s, want %s %s at %s", i, f.RuleID, f.Severity, inImage(f), w.id, w.sev, w.path)
				}
				for _, tag := range w.tags {
					if !slices.Contains(f.Tags, tag) {
						t.Errorf("%s: tags %v lack %s", f.RuleID, f.Tags, tag)
					}
				}
				for _, m := range w.msg {
					if !strings.Contains(f.Message, m) {
						t.Errorf("%s: message %q lacks %q", f.RuleID, f.Message, m)
					}
				}
				if !strings.HasPrefix(f.HelpURI, "https://github.com/advisories/"+w.id) {
					t.Errorf("%s: help %q", f.RuleID, f.HelpURI)
				}
			}
		})
	}
}

func TestGrypeDatabase(t *testing.T) {
	for _, tc := range []struct {
		report, dbInfo []byte
		want           string
	}{
		{readSample(t, grypeNpmDir), nil, "grype-db v6.1.4, built 2026-05-26T07:34:35Z"},
		{readSample(t, grypePipSBOM), nil, "grype-db v6.1.7, built 2026-06-21T07:53:20Z"},
		// Older reports (schema v5) put the status in descriptor.db itself.
		{[]byte(`{"matches":[],"descriptor":{"name":"grype","db":{"built":"2024-09-14T10:30:00Z","schemaVersion":5}}}`), nil,
			"grype-db v5, built 2024-09-14T10:30:00Z"},
		// `grype db status -o json` when the report says nothing.
		{[]byte(`{"matches":[]}`), []byte(`{"schemaVersion":"v6.1.9","built":"2026-09-24T06:31:52Z","path":"/c/grype/db/6/vulnerability.db","valid":true}`),
			"grype-db v6.1.9, built 2026-09-24T06:31:52Z"},
		{[]byte(`{"matches":[]}`), []byte("not json"), ""},
	} {
		if got := stages.GrypeDatabase(tc.report, tc.dbInfo); got != tc.want {
			t.Errorf("GrypeDatabase = %q, want %q", got, tc.want)
		}
	}
}

// grypeMatchJSON is a grype report with one match of the given severity
// words (nil: no severity field) and related severities.
func grypeMatchJSON(sev *string, related ...string) string {
	field := ""
	if sev != nil {
		field = fmt.Sprintf(`,"severity":%q`, *sev)
	}
	var rel []string
	for i, r := range related {
		rel = append(rel, fmt.Sprintf(`{"id":"CVE-2026-%04d","namespace":"nvd:cpe","severity":%q}`, i, r))
	}
	return fmt.Sprintf(`{"matches":[{"vulnerability":{"id":"DEBIAN-1","namespace":"debian:distro:debian:12"%s,"fix":{"versions":[],"state":"not-fixed"}},`+
		`"relatedVulnerabilities":[%s],"artifact":{"name":"zlib1g","version":"1:1.2.13.dfsg-1","type":"deb",`+
		`"locations":[{"path":"/var/lib/dpkg/status"}]}}],"descriptor":{"name":"grype","version":"0.121.2"}}`, field, strings.Join(rel, ","))
}

func TestParseGrypeSeverities(t *testing.T) {
	s := func(w string) *string { return &w }
	for _, tc := range []struct {
		sev     *string
		related []string
		want    findings.Severity
		err     bool
	}{
		{sev: s("Critical"), want: findings.SeverityCritical},
		{sev: s("High"), want: findings.SeverityHigh},
		{sev: s("Medium"), want: findings.SeverityMedium},
		{sev: s("Low"), want: findings.SeverityLow},
		{sev: s("Negligible"), want: findings.SeverityInfo},
		{sev: s("Unknown"), want: findings.SeverityInfo},
		{sev: s(""), want: findings.SeverityInfo},
		// A distro feed without a severity takes NVD's.
		{sev: s("Unknown"), related: []string{"Low", "High"}, want: findings.SeverityHigh},
		{sev: s("Unknown"), related: []string{"Unknown"}, want: findings.SeverityInfo},
		// A known severity is the vendor's call, whatever NVD says.
		{sev: s("Low"), related: []string{"Critical"}, want: findings.SeverityLow},
		{sev: s("Severe"), err: true},
		{sev: s("Unknown"), related: []string{"Bad"}, err: true},
		{sev: nil, err: true},
	} {
		name := "none"
		if tc.sev != nil {
			name = *tc.sev
		}
		t.Run(name+"/"+strings.Join(tc.related, ","), func(t *testing.T) {
			fs, err := stages.ParseGrype([]byte(grypeMatchJSON(tc.sev, tc.related...)))
			if tc.err {
				if err == nil {
					t.Fatalf("no error, got %+v", fs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 || fs[0].Severity != tc.want || inImage(fs[0]) != "var/lib/dpkg/status" {
				t.Fatalf("got %+v, want severity %s", fs, tc.want)
			}
			if !strings.Contains(fs[0].Message, "no fixed version (not-fixed)") {
				t.Errorf("message %q", fs[0].Message)
			}
		})
	}
}

func TestParseGrypeRejectsBadReports(t *testing.T) {
	full := string(readSample(t, grypeNpmDir))
	for name, in := range map[string]string{
		"empty":         "",
		"whitespace":    "\n",
		"array":         `[]`,
		"no matches":    `{"source":{"type":"image"}}`,
		"null matches":  `{"matches":null}`,
		"truncated":     full[:len(full)/2],
		"trailing":      `{"matches":[]} {}`,
		"wrong types":   `{"matches":[{"vulnerability":{"id":1}}]}`,
		"no id":         `{"matches":[{"vulnerability":{"severity":"High"},"artifact":{"name":"a","version":"1"}}]}`,
		"no artifact":   `{"matches":[{"vulnerability":{"id":"CVE-1","severity":"High"}}]}`,
		"no name":       `{"matches":[{"vulnerability":{"id":"CVE-1","severity":"High"},"artifact":{"version":"1"}}]}`,
		"other tool":    `{"matches":[],"descriptor":{"name":"syft"}}`,
		"trivy report":  string(readSample(t, trivyPipGolden)),
		"garbage bytes": "\x00\x01{",
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.ParseGrype([]byte(in)); err == nil {
				t.Fatalf("no error, got %v", ruleIDs(fs))
			}
		})
	}
}

// One package matched twice (a copy in two places, or two advisories) gives
// two findings with their own fingerprints.
func TestParseGrypeSameVulnerabilityTwoPackages(t *testing.T) {
	m := func(path string) string {
		return fmt.Sprintf(`{"vulnerability":{"id":"CVE-2021-33574","severity":"Critical"},"relatedVulnerabilities":[],`+
			`"artifact":{"name":"libc6","version":"2.28-10","type":"deb","locations":[{"path":%q}]}}`, path)
	}
	fs, err := stages.ParseGrype([]byte(`{"matches":[` + m("/usr/lib/x86_64-linux-gnu/libc.so.6") + "," + m("/lib/x86_64-linux-gnu/libc.so.6") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Fingerprint == fs[1].Fingerprint || inImage(fs[0]) != "usr/lib/x86_64-linux-gnu/libc.so.6" {
		t.Fatalf("findings %+v", fs)
	}
}

func FuzzParseGrype(f *testing.F) {
	for _, s := range []string{grypeNpmDir, grypePipSBOM, grypeClean} {
		f.Add(readSample(f, s))
	}
	f.Add([]byte(`{"matches":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseGrype(data)
		if err != nil {
			return
		}
		for _, fd := range fs {
			if err := fd.Validate(); err != nil {
				t.Fatalf("parser returned an invalid finding: %v", err)
			}
		}
	})
}
