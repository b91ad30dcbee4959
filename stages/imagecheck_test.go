package stages_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// checkNow is the time the image checks are measured at in these tests.
var checkNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// ociConfig writes an OCI image config with the given user and created time
// ("" leaves the field out).
func ociConfig(t *testing.T, user, created string, env ...string) []byte {
	t.Helper()
	c := map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"User": user, "Env": env}}
	if created != "" {
		c["created"] = created
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheckImageConfigRootUser(t *testing.T) {
	for _, tc := range []struct {
		user string
		root bool
	}{
		{"", true},
		{"root", true},
		{"0", true},
		{"0:0", true},
		{"root:root", true},
		{"0:1000", true},
		{" root ", true},
		{"000", true},
		{"1000", false},
		{"1000:1000", false},
		{"app", false},
		{"nobody:nogroup", false},
		{"65532", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			img := stages.BuiltImage{Ref: "app:1.0", Config: ociConfig(t, tc.user, "2026-11-20T00:00:00Z")}
			df := "FROM debian:12\nRUN useradd app\n"
			if tc.user != "" {
				df += "USER " + tc.user + "\n"
			}
			fs, err := stages.CheckImageConfigAt(img, stages.NewImageOrigins("Dockerfile", []byte(df), "", nil), 0, checkNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fs) == 1 && fs[0].RuleID == stages.ImageRootUser; got != tc.root || (!tc.root && len(fs) != 0) {
				t.Fatalf("user %q: findings %v, want root=%v", tc.user, ruleIDs(fs), tc.root)
			}
			if !tc.root {
				return
			}
			f := fs[0]
			// At the USER that sets root, or the FROM when none is set.
			want := findings.Location{Path: "Dockerfile", Line: 1}
			if tc.user != "" {
				want.Line = 3
			}
			if f.Severity != findings.SeverityHigh || f.Stage != stages.Build || f.Tool != stages.HardeningTool ||
				f.Location != want || f.Fingerprint == "" || f.Validate() != nil {
				t.Errorf("finding %+v, want at %+v", f, want)
			}
		})
	}
}

// A Dagger-built image's config holds only "config"; a config without one
// at all sets no user.
func TestCheckImageConfigMinimalConfigs(t *testing.T) {
	for name, cfg := range map[string]string{
		"no config":       `{"architecture":"amd64","os":"linux"}`,
		"null config":     `{"config":null}`,
		"dagger, root":    `{"config":{"Env":["PATH=/usr/bin"]}}`,
		"dagger, nonroot": `{"config":{"User":"1000:1000","ExposedPorts":{"8080/tcp":{}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			fs, err := stages.CheckImageConfig(stages.BuiltImage{Ref: "Dockerfile", Config: []byte(cfg)}, 0, checkNow)
			if err != nil {
				t.Fatal(err)
			}
			wantRoot := !strings.Contains(cfg, "1000")
			if (len(fs) == 1) != wantRoot {
				t.Fatalf("findings %v, want root=%v", ruleIDs(fs), wantRoot)
			}
		})
	}
}

func TestCheckImageConfigBaseAge(t *testing.T) {
	day := 24 * time.Hour
	at := func(d time.Duration) string { return checkNow.Add(-d).Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name    string
		base    []byte // nil: scratch or unknown base
		maxAge  time.Duration
		want    string // rule id, "" for none
		message []string
		wantErr string
	}{
		{name: "fresh base", base: ociConfig(t, "", at(10*day)), want: ""},
		{name: "45 days, default 30", base: ociConfig(t, "", at(45*day+time.Hour)), want: stages.ImageOldBase,
			message: []string{"python:3.12-slim", "45 days ago", "allows 30 days"}},
		{name: "just under the limit", base: ociConfig(t, "", at(30*day-time.Minute)), want: ""},
		{name: "policy max age 7 days", base: ociConfig(t, "", at(10*day)), maxAge: 7 * day, want: stages.ImageOldBase,
			message: []string{"10 days ago", "allows 7 days"}},
		{name: "scratch base", base: nil, want: ""},
		{name: "no created", base: ociConfig(t, "", ""), want: stages.ImageBaseNoDate},
		{name: "epoch placeholder", base: ociConfig(t, "", "1970-01-01T00:00:00Z"), want: stages.ImageBaseNoDate},
		{name: "clock skew tolerated", base: ociConfig(t, "", checkNow.Add(time.Minute).Format(time.RFC3339)), want: ""},
		{name: "future", base: ociConfig(t, "", checkNow.Add(day).Format(time.RFC3339)), wantErr: "in the future"},
		{name: "unparsable created", base: ociConfig(t, "", "last tuesday"), wantErr: "RFC 3339"},
		{name: "created not a string", base: []byte(`{"created": 1700000000}`), wantErr: "base image"},
		{name: "base config garbage", base: []byte("not json"), wantErr: "base image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := stages.BuiltImage{Ref: "app:1.0", Config: ociConfig(t, "app", ""),
				BaseRef: "python:3.12-slim", BaseConfig: tc.base}
			origins := stages.NewImageOrigins("build/Dockerfile", []byte("# app\nFROM python:3.12-slim\nCOPY . /app\n"), "", nil)
			fs, err := stages.CheckImageConfigAt(img, origins, tc.maxAge, checkNow)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q (findings %v)", err, tc.wantErr, ruleIDs(fs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none", ruleIDs(fs))
				}
				return
			}
			if len(fs) != 1 || fs[0].RuleID != tc.want {
				t.Fatalf("findings %v, want %s", ruleIDs(fs), tc.want)
			}
			for _, m := range tc.message {
				if !strings.Contains(fs[0].Message, m) {
					t.Errorf("message %q lacks %q", fs[0].Message, m)
				}
			}
			r, _ := stages.LookupImageRule(tc.want)
			// At the base image's FROM, never at the image as if it were a file.
			if fs[0].Severity != r.Severity || fs[0].Location != (findings.Location{Path: "build/Dockerfile", Line: 2}) || fs[0].Validate() != nil {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

// Without Now the age is measured at the current time.
func TestCheckImageConfigDefaultsToNow(t *testing.T) {
	img := stages.BuiltImage{Ref: "app", Config: ociConfig(t, "app", ""), BaseRef: "alpine:3.22",
		BaseConfig: ociConfig(t, "", time.Now().Add(-time.Hour).Format(time.RFC3339))}
	fs, err := stages.CheckImageConfig(img, 0, time.Time{})
	if err != nil || len(fs) != 0 {
		t.Fatalf("findings %v, error %v", ruleIDs(fs), err)
	}
}

func TestCheckImageConfigRejectsBadConfigs(t *testing.T) {
	good := []byte(`{"config":{"User":"app"}}`)
	for name, cfg := range map[string]string{
		"empty":       "",
		"array":       `[{"config":{}}]`,
		"truncated":   `{"config":{"User":"app"`,
		"trailing":    `{"config":{}} {}`,
		"wrong types": `{"config":{"User":0}}`,
		"env types":   `{"config":{"Env":"PATH=/bin"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.CheckImageConfig(stages.BuiltImage{Ref: "x", Config: []byte(cfg)}, 0, checkNow); err == nil {
				t.Fatalf("no error for %q, got %v", cfg, ruleIDs(fs))
			}
		})
	}
	if _, err := stages.CheckImageConfig(stages.BuiltImage{Ref: "x", Config: good}, 0, checkNow); err != nil {
		t.Fatal(err)
	}
}

func TestParseImageConfigFacts(t *testing.T) {
	f, err := stages.ParseImageConfig(ociConfig(t, "1000:1000", "2026-01-02T03:04:05.5Z", "PATH=/usr/bin", "TOKEN=x=y"))
	if err != nil {
		t.Fatal(err)
	}
	if f.User != "1000:1000" || len(f.Env) != 2 || f.Env[1] != "TOKEN=x=y" || f.RunsAsRoot() ||
		!f.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
		t.Fatalf("facts %+v", f)
	}
}

// The two checks of one image keep apart, and a finding keeps its
// fingerprint when only the image's age changes.
func TestImageFindingFingerprints(t *testing.T) {
	day := 24 * time.Hour
	mk := func(age time.Duration) []findings.Finding {
		img := stages.BuiltImage{Ref: "app", Config: ociConfig(t, "", ""), BaseRef: "debian:12",
			BaseConfig: ociConfig(t, "", checkNow.Add(-age).Format(time.RFC3339))}
		fs, err := stages.CheckImageConfig(img, 0, checkNow)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	a, b := mk(40*day), mk(90*day)
	if len(a) != 2 || len(b) != 2 || a[0].Fingerprint == a[1].Fingerprint {
		t.Fatalf("findings %v %v", ruleIDs(a), ruleIDs(b))
	}
	for i := range a {
		if a[i].Fingerprint != b[i].Fingerprint {
			t.Errorf("%s: fingerprint changed with the age", a[i].RuleID)
		}
	}
}
