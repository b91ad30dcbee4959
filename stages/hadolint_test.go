package stages_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// The hadolint samples are genuine `hadolint --format json` outputs committed
// to public repositories (see testdata/SOURCES.md):
//
//	hadolint-defectdojo-many-dockerfile.json: DefectDojo/django-DefectDojo
//	  unittests/scans/hadolint/many_dockerfile.json at commit
//	  029409be3bdfdc0fb47cdf247a35228f38c541dd; two Dockerfiles linted on
//	  Windows (backslash paths), warning and info levels.
//	hadolint-tool-check.json: quangh0409/tool_check hadolint.json at commit
//	  00e77e8d3279a0f52aabdf5b9044d8ab35bedb47, written by
//	  `hadolint Dockerfile --format json | tee ../hadolint.json`; error
//	  (ShellCheck SC2225), info and warning levels.
//	hadolint-stdin-compact.json: hamzamaan/aws-microservices-app hadolint.json
//	  at commit 9d3752c646034ab77c48c0ed13b10d8f3d44c9a8; hadolint's compact
//	  one-line output for a Dockerfile read from stdin (file "-").

func TestParseHadolintGenuineSamples(t *testing.T) {
	const django, nginx = "django-DefectDojo/Dockerfile.django", "django-DefectDojo/Dockerfile.nginx"
	med, low := findings.SeverityMedium, findings.SeverityLow
	for _, tc := range []struct {
		file string
		want []schWant
	}{
		{"hadolint-defectdojo-many-dockerfile.json", []schWant{
			{"DL3008", med, django, 9}, {"DL3015", low, django, 9}, {"DL3008", med, django, 25}, {"DL3013", med, django, 44},
			{"DL3008", med, nginx, 8}, {"DL3015", low, nginx, 8}, {"DL3002", med, nginx, 24}, {"DL3008", med, nginx, 25},
			{"DL3015", low, nginx, 25}, {"DL4006", med, nginx, 25}, {"DL3003", med, nginx, 50}, {"DL3006", med, nginx, 57},
		}},
		{"hadolint-tool-check.json", []schWant{
			{"SC2225", findings.SeverityHigh, "Dockerfile", 4}, {"DL3059", low, "Dockerfile", 5}, {"DL3025", med, "Dockerfile", 8},
		}},
		{"hadolint-stdin-compact.json", []schWant{{"DL3045", med, "-", 7}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := schSample(t, tc.file)
			fs, err := stages.ParseHadolint(data)
			if err != nil {
				t.Fatal(err)
			}
			schCheckWant(t, fs, tc.want)
			schCheckOutput(t, stages.Dockerfile, "hadolint", fs, func() ([]findings.Finding, error) { return stages.ParseHadolint(data) })
		})
	}
}

func TestParseHadolintFields(t *testing.T) {
	fs, err := stages.ParseHadolint(schSample(t, "hadolint-tool-check.json"))
	if err != nil {
		t.Fatal(err)
	}
	sc, dl := fs[0], fs[2]
	if sc.HelpURI != "https://www.shellcheck.net/wiki/SC2225" || !strings.Contains(strings.Join(sc.Tags, ","), "shellcheck") {
		t.Errorf("SC2225 help %q tags %v", sc.HelpURI, sc.Tags)
	}
	if dl.HelpURI != "https://github.com/hadolint/hadolint/wiki/DL3025" || dl.Message != "Use arguments JSON notation for CMD and ENTRYPOINT arguments" || dl.Location.Column != 1 {
		t.Errorf("DL3025 %+v", dl)
	}
}

func TestParseHadolintLevels(t *testing.T) {
	// hadolint's four levels (Hadolint.Formatter.Format.severityText); the
	// genuine samples have no "style", so each level is shown here.
	for level, want := range map[string]findings.Severity{
		"error":   findings.SeverityHigh,
		"warning": findings.SeverityMedium,
		"info":    findings.SeverityLow,
		"style":   findings.SeverityInfo,
	} {
		in := `[{"code":"DL3006","column":1,"file":"Dockerfile","level":"` + level + `","line":1,"message":"Always tag the version of an image explicitly"}]`
		fs, err := stages.ParseHadolint([]byte(in))
		if err != nil || len(fs) != 1 || fs[0].Severity != want {
			t.Errorf("level %s: %+v, %v", level, fs, err)
		}
	}
}

func TestParseHadolintCleanScan(t *testing.T) {
	// hadolint encodes the (empty) list of results of a clean run: "[]".
	for _, in := range []string{"[]", "[]\n"} {
		fs, err := stages.ParseHadolint([]byte(in))
		if err != nil || fs == nil || len(fs) != 0 {
			t.Errorf("%q: %#v, %v", in, fs, err)
		}
	}
}

func TestParseHadolintPaths(t *testing.T) {
	orig := string(schSample(t, "hadolint-tool-check.json"))
	for file, want := range map[string]string{
		"/src/docker/Dockerfile": "docker/Dockerfile",
		"./Dockerfile":           "Dockerfile",
		`docker\\Dockerfile`:     "docker/Dockerfile",
	} {
		fs, err := stages.ParseHadolint([]byte(strings.ReplaceAll(orig, `"file": "Dockerfile"`, `"file": "`+file+`"`)))
		if err != nil || len(fs) != 3 || fs[0].Location.Path != want {
			t.Errorf("%s: %+v, %v", file, fs, err)
		}
	}
}

// Two DL3008 hits in Dockerfile.django share rule and message: their
// fingerprints differ by occurrence order, and no fingerprint changes when
// every line moves down.
func TestParseHadolintFingerprintSurvivesLineMove(t *testing.T) {
	orig := schSample(t, "hadolint-defectdojo-many-dockerfile.json")
	a, err := stages.ParseHadolint(orig)
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(orig, &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		e["line"] = e["line"].(float64) + 10
	}
	moved, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	b, err := stages.ParseHadolint(moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(a) || b[0].Location.Line != 19 {
		t.Fatalf("moved sample: %+v", b)
	}
	for i := range a {
		if a[i].Fingerprint != b[i].Fingerprint {
			t.Errorf("finding %d (%s): fingerprint %s became %s", i, a[i].RuleID, a[i].Fingerprint, b[i].Fingerprint)
		}
	}
	if a[0].Fingerprint+":2" != a[2].Fingerprint {
		t.Errorf("second DL3008 in one file: %s, first %s", a[2].Fingerprint, a[0].Fingerprint)
	}
}

func TestParseHadolintRejectsBadReports(t *testing.T) {
	genuine := string(schSample(t, "hadolint-tool-check.json"))
	entry := func(fields string) string { return "[{" + fields + "}]" }
	for name, in := range map[string]string{
		"empty":             "",
		"whitespace":        " \n",
		"garbage":           "\x00\x01not json",
		"null":              "null",
		"object":            `{"code":"DL3007","file":"Dockerfile","level":"warning","line":1,"message":"x"}`,
		"truncated":         genuine[:len(genuine)/2],
		"trailing data":     genuine + "[]",
		"two arrays":        "[] []",
		"null entry":        "[null]",
		"string entry":      `["DL3007"]`,
		"no code":           entry(`"column":1,"file":"Dockerfile","level":"warning","line":1,"message":"x"`),
		"empty code":        entry(`"code":"","column":1,"file":"Dockerfile","level":"warning","line":1,"message":"x"`),
		"no file":           entry(`"code":"DL3007","column":1,"level":"warning","line":1,"message":"x"`),
		"no line":           entry(`"code":"DL3007","column":1,"file":"Dockerfile","level":"warning","message":"x"`),
		"no level":          entry(`"code":"DL3007","column":1,"file":"Dockerfile","line":1,"message":"x"`),
		"no message":        entry(`"code":"DL3007","column":1,"file":"Dockerfile","level":"warning","line":1`),
		"unknown level":     entry(`"code":"DL3007","column":1,"file":"Dockerfile","level":"fatal","line":1,"message":"x"`),
		"line as string":    entry(`"code":"DL3007","column":1,"file":"Dockerfile","level":"warning","line":"1","message":"x"`),
		"code as number":    entry(`"code":3007,"column":1,"file":"Dockerfile","level":"warning","line":1,"message":"x"`),
		"level as number":   strings.Replace(genuine, `"level": "error"`, `"level": 3`, 1),
		"missing field key": strings.Replace(genuine, `"line": 4,`, ``, 1),
		// hadolint reports a Dockerfile it cannot parse as DL1000 (shape from
		// Hadolint.Formatter.Json) and checks nothing in it.
		"parse error": `[{"code":"DL1000","column":1,"file":"Dockerfile","level":"error","line":3,"message":"unexpected 'X' expecting '#', ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR, or end of input"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if in == genuine {
				t.Fatal("test input unchanged")
			}
			if fs, err := stages.ParseHadolint([]byte(in)); err == nil {
				t.Fatalf("no error, got %d findings", len(fs))
			}
		})
	}
}

func FuzzParseHadolint(f *testing.F) {
	for _, name := range []string{
		"hadolint-defectdojo-many-dockerfile.json",
		"hadolint-tool-check.json",
		"hadolint-stdin-compact.json",
	} {
		f.Add(schSample(f, name))
	}
	f.Add([]byte("[]"))
	f.Add([]byte(`[{"code":"DL1000","column":1,"file":"Dockerfile","level":"error","line":3,"message":"x"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseHadolint(data)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Validate() != nil || x.Stage != stages.Dockerfile || x.Tool != "hadolint" || x.Fingerprint == "" {
				t.Fatalf("bad finding %+v", x)
			}
		}
	})
}
