package policies

import (
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

func TestImages(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]string
	}{
		{"tools and helper", `version: 1
images:
  trivy: registry.internal/mirror/aquasec/trivy:0.74.0
  gitleaks: registry.internal/mirror/gitleaks/gitleaks:v8.30.1
  helper: registry.internal/mirror/library/busybox:1.37.0
`, map[string]string{
			"trivy":        "registry.internal/mirror/aquasec/trivy:0.74.0",
			"gitleaks":     "registry.internal/mirror/gitleaks/gitleaks:v8.30.1",
			HelperImageKey: "registry.internal/mirror/library/busybox:1.37.0",
		}},
		{"digest and port", "images:\n  zap: 'mirror:5000/zaproxy/zaproxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'\n",
			map[string]string{"zap": "mirror:5000/zaproxy/zaproxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		{"flow mapping", "images: {semgrep: m/semgrep:1.100.0}\n", map[string]string{"semgrep": "m/semgrep:1.100.0"}},
		{"null images", "images:\n", nil},
		{"empty images", "images: {}\n", nil},
		{"no images", "version: 1\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "policy.yaml", "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Images, tt.want) {
				t.Errorf("Images = %#v, want %#v", p.Images, tt.want)
			}
		})
	}
}

func TestImagesBadInputs(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"unknown tool", "version: 1\nimages:\n  trivy: m/trivy:1\n  trivvy: m/trivy:1\n", 4,
			`unknown key "trivvy" in images (known: `},
		{"unknown tool suggestion", "images:\n  gitleak: m/gitleaks:1\n", 2, `did you mean "gitleaks"?`},
		{"helper typo", "images:\n  helpr: m/busybox:1\n", 2, `did you mean "helper"?`},
		{"stage name", "images:\n  secrets: m/gitleaks:1\n", 2, `unknown key "secrets" in images`},
		{"URL", "images:\n  trivy: https://registry.internal/aquasec/trivy:0.74.0\n", 2,
			`images.trivy: want an image reference, not a URL (no scheme: registry/repository:tag), got "https://registry.internal/aquasec/`},
		{"oci scheme", "images:\n  syft: oci://m/syft:1\n", 2, "not a URL"},
		{"empty", "images:\n  gitleaks: ''\n", 2, "images.gitleaks is empty"},
		{"null value", "images:\n  grype:\n", 2, "images.grype has no value (want a string)"},
		{"number", "images:\n  hadolint: 2\n", 2, `images.hadolint: want a string, got "2"`},
		{"list value", "images:\n  cosign: [m/cosign:1]\n", 2, "images.cosign: want a string, got a list"},
		{"whitespace", "images:\n  helper: 'm/busybox:1 --privileged'\n", 2, `images.helper: an image reference has no whitespace, got "m/busybox:1 --privileged"`},
		{"tab", "images:\n  helper: \"m/busybox:1\\t\"\n", 2, "images.helper: an image reference has no whitespace"},
		{"not a mapping", "images: [trivy]\n", 1, "images: want a mapping of tool names to image references, got a list"},
		{"string", "images: m/trivy:1\n", 1, `images: want a mapping of tool names to image references, got "m/trivy:1"`},
		{"top-level typo", "version: 1\nimage:\n  trivy: m/trivy:1\n", 2, `unknown key "image" at top level (known: version, extends, production_branch, stages, suppressions, targets, images, concurrency); did you mean "images"?`},
		{"duplicate", "images:\n  trivy: a/t:1\n  trivy: b/t:1\n", 3, `duplicate key "trivy" in images (first at line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "policy.yaml", "")
			if err == nil {
				t.Fatalf("no error; got %+v", p.Images)
			}
			msg := err.Error()
			prefix := "policy.yaml:" + strconv.Itoa(tt.line) + ": "
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
				t.Errorf("err = %s\nwant prefix %q and %q", msg, prefix, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "policy.yaml" || pe.Line != tt.line {
				t.Errorf("errors.As: %+v", pe)
			}
		})
	}
}

// The keys images accepts: every tool that runs from an image, and helper.
func TestImagesKnownKeys(t *testing.T) {
	_, err := Parse([]byte("images:\n  nosuch: m/x:1\n"), "policy.yaml", "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, n := range stages.ToolNames() {
		if tool, _ := stages.LookupTool(n); tool.Image != "" && !strings.Contains(err.Error(), n) {
			t.Errorf("the known keys lack tool %s: %v", n, err)
		}
		src := "images:\n  " + n + ": mirror.example/" + n + ":1\n"
		if p, err := Parse([]byte(src), "policy.yaml", ""); err != nil || p.Images[n] != "mirror.example/"+n+":1" {
			t.Errorf("images.%s: %v, %v", n, p, err)
		}
	}
	if !strings.Contains(err.Error(), ", helper)") {
		t.Errorf("the known keys lack helper: %v", err)
	}
}

func TestPresetsHaveNoImages(t *testing.T) {
	for _, n := range PresetNames() {
		p, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Images != nil {
			t.Errorf("preset %s has images %v", n, p.Images)
		}
	}
}

// A file's images are laid over its base's key by key. No preset has
// images, so the base here is built by hand.
func TestImagesLayerOverBase(t *testing.T) {
	base, err := Preset(DefaultPreset)
	if err != nil {
		t.Fatal(err)
	}
	base.Images = map[string]string{"trivy": "base/trivy:1", HelperImageKey: "base/busybox:1"}
	baseImages := maps.Clone(base.Images)
	tests := []struct {
		name string
		src  string
		want map[string]string
	}{
		{"one replaced, one added", "images:\n  trivy: file/trivy:2\n  gitleaks: file/gitleaks:2\n",
			map[string]string{"trivy": "file/trivy:2", HelperImageKey: "base/busybox:1", "gitleaks": "file/gitleaks:2"}},
		{"none set", "version: 1\n", baseImages},
		{"null", "images:\n", baseImages},
		{"empty", "images: {}\n", baseImages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, errs := decode([]byte(tt.src), "policy.yaml")
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			p := raw.apply(base)
			if !reflect.DeepEqual(p.Images, tt.want) {
				t.Errorf("Images = %v, want %v", p.Images, tt.want)
			}
			if !reflect.DeepEqual(base.Images, baseImages) {
				t.Errorf("applying changed the base: %v", base.Images)
			}
			p.Images["trivy"] = "changed"
			if base.Images["trivy"] != "base/trivy:1" {
				t.Errorf("the result shares its images with the base")
			}
		})
	}
}

func TestCloneCopiesImages(t *testing.T) {
	p, err := Parse([]byte("images:\n  trivy: m/trivy:1\n"), "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	c := p.clone()
	c.Images["trivy"] = "changed"
	c.Images["grype"] = "added"
	if want := map[string]string{"trivy": "m/trivy:1"}; !reflect.DeepEqual(p.Images, want) {
		t.Errorf("changing a clone changed the original: %v", p.Images)
	}
	if (&Policy{}).clone().Images != nil {
		t.Errorf("a clone of no images is not nil")
	}
}

// policy show prints images sorted by key, and what it prints loads back.
func TestMarshalImages(t *testing.T) {
	src := "images:\n  zap: m/zap:1\n  helper: m/busybox:1\n  gitleaks: m/gitleaks:1\n"
	p, err := Parse([]byte(src), "policy.yaml", "strict")
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "images:\n  gitleaks: m/gitleaks:1\n  helper: m/busybox:1\n  zap: m/zap:1\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("marshalled policy lacks\n%s\ngot\n%s", want, out)
	}
	back, err := Parse(out, "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip changed the policy: %v, want %v", back.Images, p.Images)
	}
	for range 5 { // map order must not show
		if again, _ := p.Marshal(); string(again) != string(out) {
			t.Fatalf("Marshal is not deterministic:\n%s\n%s", out, again)
		}
	}

	none, _ := Preset(DefaultPreset)
	if out, _ := none.Marshal(); strings.Contains(string(out), "images") {
		t.Errorf("a policy without images prints an images section:\n%s", out)
	}
	// A hand-built policy with an image the parser rejects does not print.
	none.Images = map[string]string{"nosuch": "m/x:1"}
	if _, err := none.Marshal(); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("Marshal of an unknown image key: %v", err)
	}
}
