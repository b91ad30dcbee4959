package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

// Every parser places a finding in a file at the repository root there:
// genuine reports whose files sit at the root (or were moved there by
// changing only their path), read as each plan reads them.
func TestParsersPlaceRootFiles(t *testing.T) {
	sample := func(name, from, to string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if from != "" {
			if !strings.Contains(string(data), from) {
				t.Fatalf("%s has no %q", name, from)
			}
			data = []byte(strings.ReplaceAll(string(data), from, to))
		}
		return data
	}
	cases := []struct {
		tool, want string
		parse      func() ([]findings.Finding, error)
	}{
		{"checkov", "juice-shop.yaml", func() ([]findings.Finding, error) {
			return ParseCheckov(sample("checkov-3.2.502-cloudshield-trimmed.json", "/k8s/juice-shop.yaml", "/juice-shop.yaml"))
		}},
		{"trivy", "Dockerfile", func() ([]findings.Finding, error) {
			fs, _, err := ParseTrivy(sample("trivy-v0.74.0-config-dockerfile.json", "", ""), Dockerfile)
			return fs, err
		}},
		{"tfsec", "main.tf", func() ([]findings.Finding, error) {
			return ParseTfsec(sample("tfsec-v1.28.14-planted.json", "/planted/infra/main.tf", "/planted/main.tf"), "/tmp/dagsec-iac-samples/planted")
		}},
		{"osv-scanner", "go.mod", func() ([]findings.Finding, error) {
			fs, _, err := ParseOSVScannerIn(sample("osv-scanner-v2.6.0-go-offline.json", "", ""), "/tmp/dagsec-samples/called")
			return fs, err
		}},
		{"semgrep", "app.py", func() ([]findings.Finding, error) {
			return ParseSemgrep(sample("semgrep-0.82.0-with-suppressions.sarif", "/tmp/app/tests/test-ignore-yes.py", "app.py"))
		}},
		{"hadolint", "Dockerfile", func() ([]findings.Finding, error) {
			return ParseHadolint(sample("hadolint-defectdojo-many-dockerfile.json", `django-DefectDojo\\Dockerfile.django`, "Dockerfile"))
		}},
		{"bandit", "app.py", func() ([]findings.Finding, error) {
			return ParseBanditIn(sample("bandit-1.6.2.json", "", ""), "")
		}},
		{"gosec", "main.go", func() ([]findings.Finding, error) {
			data := sample("gosec-v2.30.0.json", "", "")
			return ParseGosecIn(data, gosecSampleRoot(t, data))
		}},
	}
	for _, tc := range cases {
		fs, err := tc.parse()
		if err != nil {
			t.Errorf("%s: %v", tc.tool, err)
			continue
		}
		n := 0
		for _, f := range fs {
			if f.Location.Path == tc.want {
				n++
			}
		}
		if n == 0 {
			var paths []string
			for _, f := range fs {
				paths = append(paths, f.Location.Path)
			}
			t.Errorf("%s: no finding at %s (paths %q)", tc.tool, tc.want, paths)
		}
	}
}

// gosecSampleRoot is the folder the gosec sample was made in: its main.go's.
func gosecSampleRoot(t *testing.T, data []byte) string {
	t.Helper()
	i := strings.Index(string(data), "/main.go\"")
	if i < 0 {
		t.Fatal("the gosec sample has no main.go")
	}
	j := strings.LastIndex(string(data[:i]), "\"")
	return string(data[j+1 : i])
}
