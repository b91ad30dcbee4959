package imagelock

import (
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	l := New(map[string]string{"trivy": "docker.io/aquasec/trivy:0.74.0", Helper: stages.HelperImage},
		map[string]string{"trivy": digestA, Helper: digestB})
	data := l.Marshal()
	if again := New(map[string]string{Helper: stages.HelperImage, "trivy": "docker.io/aquasec/trivy:0.74.0"},
		map[string]string{"trivy": digestA, Helper: digestB}).Marshal(); string(again) != string(data) {
		t.Fatalf("Marshal is not deterministic:\n%s\n---\n%s", data, again)
	}
	got, err := Parse(data, "images.lock")
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, data)
	}
	if len(got.Entries) != 2 || got.Entries[0].Name != Helper || got.Entries[1].Ref() != "docker.io/aquasec/trivy:0.74.0@"+digestA {
		t.Fatalf("entries = %+v", got.Entries)
	}
	if got.Entries[1].Line == 0 {
		t.Error("a parsed entry has no line")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"empty", "", []string{"images.lock is empty"}},
		{"not yaml", "version: [1\n", []string{"images.lock: not valid YAML"}},
		{"wrong version", "version: 2\nimages: {}\n", []string{"images.lock:1: version: want 1"}},
		{"missing images", "version: 1\n", []string{"images.lock:1: images is required"}},
		{"unknown top key", "version: 1\nimages: {}\nextra: 1\n", []string{`images.lock:3: unknown key "extra"`}},
		{"unknown tool", "version: 1\nimages:\n  trivvy:\n    image: a:b\n    digest: " + digestA + "\n",
			[]string{`images.lock:3: images.trivvy: unknown tool "trivvy"`}},
		{"bad digest", "version: 1\nimages:\n  trivy:\n    image: a:b\n    digest: sha256:abc\n",
			[]string{`images.lock:5: images.trivy.digest: want sha256: and 64 lowercase hex digits, got "sha256:abc"`}},
		{"digest in image", "version: 1\nimages:\n  trivy:\n    image: a:b@" + digestA + "\n    digest: " + digestA + "\n",
			[]string{"images.lock:4: images.trivy.image:", "already names a digest"}},
		{"missing digest", "version: 1\nimages:\n  gosec:\n    image: a:b\n",
			[]string{"images.lock:4: images.gosec.digest is required"}},
		{"unknown entry key", "version: 1\nimages:\n  gosec:\n    image: a:b\n    digest: " + digestA + "\n    tag: x\n",
			[]string{`images.lock:6: images.gosec: unknown key "tag"`}},
		{"two problems", "version: 1\nimages:\n  gosec:\n    image: 3\n    digest: x\n",
			[]string{"images.lock:4: images.gosec.image: want a string", "images.lock:5: images.gosec.digest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), "images.lock")
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPins(t *testing.T) {
	lock := New(map[string]string{"trivy": "docker.io/aquasec/trivy:0.74.0", "gosec": "docker.io/securego/gosec:2.30.0"},
		map[string]string{"trivy": digestA, "gosec": digestB})
	lock.File = "images.lock"
	for _, tc := range []struct {
		name   string
		images map[string]string
		want   map[string]string
		errs   []string
	}{
		{"every image locked", map[string]string{"trivy": "docker.io/aquasec/trivy:0.74.0"},
			map[string]string{"trivy": "docker.io/aquasec/trivy:0.74.0@" + digestA}, nil},
		{"an override not in the lock", map[string]string{"trivy": "mirror.example/trivy:0.74.0"}, nil,
			[]string{"trivy is locked as docker.io/aquasec/trivy:0.74.0", "this run uses mirror.example/trivy:0.74.0", "dagsec images lock"}},
		{"a tool without an entry", map[string]string{"grype": "docker.io/anchore/grype:v0.121.2", "gosec": "docker.io/securego/gosec:2.30.0"}, nil,
			[]string{"no entry for grype (docker.io/anchore/grype:v0.121.2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lock.Pins(tc.images)
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("Pins = %v, want an error", got)
				}
				for _, w := range tc.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil || len(got) != len(tc.want) || got["trivy"] != tc.want["trivy"] {
				t.Fatalf("Pins = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestImages(t *testing.T) {
	t.Setenv(stages.ImageEnv("gitleaks"), "mirror.example/gitleaks:v8.30.1")
	got := Images(map[string]string{"trivy": "mirror.example/trivy:0.74.0", Helper: "mirror.example/busybox:1.37.0"})
	tr, _ := stages.LookupTool("gosec")
	for name, want := range map[string]string{
		"gitleaks": "mirror.example/gitleaks:v8.30.1", // the environment's override
		"trivy":    "mirror.example/trivy:0.74.0",     // the policy's
		Helper:     "mirror.example/busybox:1.37.0",
		"gosec":    tr.Image, // the pin
	} {
		if got[name] != want {
			t.Errorf("Images()[%s] = %q, want %q", name, got[name], want)
		}
	}
	if len(got) != len(Names()) {
		t.Errorf("Images() has %d images, Names() %d", len(got), len(Names()))
	}
}

func TestRunNames(t *testing.T) {
	for _, tc := range []struct {
		selected []string
		want     []string
	}{
		{[]string{stages.Secrets}, []string{"gitleaks", "trufflehog"}},
		{[]string{stages.API}, []string{"spectral"}},
		{[]string{stages.SCA, stages.IaC}, []string{"checkov", "govulncheck", "osv-scanner", "tfsec", "trivy"}},
		{[]string{stages.Image}, []string{"cosign", "grype", "helper", "syft", "trivy"}},
		{[]string{stages.Production}, []string{"cosign", "helper"}},
	} {
		got := RunNames(tc.selected)
		if !slices.Equal(got, tc.want) {
			t.Errorf("RunNames(%v) = %v, want %v", tc.selected, got, tc.want)
		}
	}
}
